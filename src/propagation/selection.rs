//! Which manifests a seller gets, on which of its products, and as which format. Pure: the
//! campaign, its manifests and the format specs in, the packages out.

use crate::adcp::types::{FormatId, FormatRef};
use crate::formats::spec::FormatSpec;
use crate::ids::SalesAgentId;
use crate::manifest::coverage::{check_kind, satisfied, ManifestFacts};
use crate::manifest::model::Manifest;
use crate::store::campaigns::{Campaign, Product};

/// One product of the seller and the manifests it needs: indexes into the input, each with the
/// product format it fulfils.
#[derive(Debug)]
pub struct PackagePlan<'c> {
    pub product: &'c Product,
    pub creatives: Vec<(usize, FormatRef)>,
}

#[derive(Debug)]
pub struct Selection<'c> {
    pub packages: Vec<PackagePlan<'c>>,
    /// Per manifest: the format it is sent to this seller as, when the seller needs it at all (a
    /// manifest fitting several products goes as the first format that fits).
    pub formats: Vec<Option<FormatRef>>,
}

impl Selection<'_> {
    /// Indexes of the manifests the seller needs, in input order.
    pub fn needed(&self) -> impl Iterator<Item = usize> + '_ {
        self.formats
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.as_ref().map(|_| i))
    }
}

/// The format of `p` that a manifest goes out as; `is_target` says whether a format is one of the
/// manifest's targets. A manifest made for a named format goes out as that format or not at all:
/// another format it also satisfies (an HTML page's backup image fits the image format of its
/// size) would make the seller a different creative, with its assets under another format's
/// slots. Otherwise: a named format among its targets, or a kind it meets.
fn fit(
    p: &Product,
    is_target: &dyn Fn(&FormatId) -> bool,
    facts: &ManifestFacts,
) -> Option<FormatRef> {
    if let Some(FormatRef::Id(own)) = &facts.format {
        return p
            .format_ids
            .iter()
            .find(|id| same_format(id, own) && is_target(id))
            .map(|id| FormatRef::Id(id.clone()));
    }
    if let Some(id) = p.format_ids.iter().find(|id| is_target(id)) {
        return Some(FormatRef::Id(id.clone()));
    }
    p.format_kinds
        .iter()
        .find(|k| check_kind(k, facts).is_empty())
        .map(|k| FormatRef::Kind(k.format_kind))
}

/// Whether `id` is among a manifest's `targets`: ones the buyer `chosen`, or ones computed at
/// upload that the manifest still
/// satisfies as the registry knows the format now. Checked again, so execute gives the answer
/// validate gives (a manifest stored with targets computed before its page's size was read is not
/// sent to sizes it does not fit).
fn is_target<'s>(
    (targets, chosen): (&[FormatId], bool),
    facts: &ManifestFacts,
    spec_of: &impl Fn(&FormatId) -> Option<&'s FormatSpec>,
    id: &FormatId,
) -> bool {
    targets.iter().any(|t| same_format(t, id))
        && (chosen || !satisfied(std::slice::from_ref(id), spec_of, facts).is_empty())
}

/// The same format, whatever parameters (size, duration) either reference adds.
fn same_format(a: &FormatId, b: &FormatId) -> bool {
    a.agent_url == b.agent_url && a.id == b.id
}

pub fn select<'c, 's>(
    campaign: &'c Campaign,
    seller: &SalesAgentId,
    manifests: &[Manifest],
    spec_of: &impl Fn(&FormatId) -> Option<&'s FormatSpec>,
) -> Selection<'c> {
    let facts: Vec<ManifestFacts> = manifests.iter().map(ManifestFacts::of).collect();
    let mut formats: Vec<Option<FormatRef>> = vec![None; manifests.len()];
    let mut packages = Vec::new();
    for product in campaign
        .products
        .iter()
        .filter(|p| &p.sales_agent_id == seller)
    {
        let mut creatives = Vec::new();
        for (i, m) in manifests.iter().enumerate() {
            let of_m = (m.target_format_ids.as_slice(), m.targets_chosen);
            let targets = |id: &FormatId| is_target(of_m, &facts[i], spec_of, id);
            if let Some(f) = fit(product, &targets, &facts[i]) {
                formats[i].get_or_insert_with(|| f.clone());
                creatives.push((i, f));
            }
        }
        packages.push(PackagePlan { product, creatives });
    }
    Selection { packages, formats }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CreativeId;

    fn id(name: &str) -> FormatId {
        FormatId {
            agent_url: "https://seller.example".into(),
            id: name.into(),
            width: None,
            height: None,
            duration_ms: None,
        }
    }

    fn product(ids: &[&str]) -> Product {
        Product {
            product_id: "p".into(),
            sales_agent_id: SalesAgentId::from_db("sa_x".into()),
            format_ids: ids.iter().map(|i| id(i)).collect(),
            format_kinds: vec![],
            budget: None,
            pricing_option_id: None,
        }
    }

    fn among(targets: &[FormatId]) -> impl Fn(&FormatId) -> bool + '_ {
        move |id| targets.iter().any(|t| same_format(t, id))
    }

    fn facts(format: Option<FormatRef>) -> ManifestFacts {
        ManifestFacts {
            creative_id: CreativeId::new(),
            format,
            assets: vec![],
        }
    }

    #[test]
    fn a_manifest_made_for_a_format_goes_out_as_that_format_only() {
        let both = product(&["display_300x250", "display_300x250_html"]);
        let targets = [id("display_300x250"), id("display_300x250_html")];
        let html = facts(Some(FormatRef::Id(id("display_300x250_html"))));
        assert_eq!(
            fit(&both, &among(&targets), &html),
            Some(FormatRef::Id(id("display_300x250_html")))
        );
        // A product that does not take its format does not get it as another one.
        assert_eq!(
            fit(&product(&["display_300x250"]), &among(&targets), &html),
            None
        );
        // Nor does one whose format it does not satisfy.
        assert_eq!(fit(&both, &among(&[id("display_300x250")]), &html), None);
        // A product's reference with parameters is the same format.
        let mut sized = product(&[]);
        sized.format_ids.push(FormatId {
            width: Some(300),
            height: Some(250),
            ..id("display_300x250_html")
        });
        assert_eq!(
            fit(&sized, &among(&targets), &html),
            Some(FormatRef::Id(sized.format_ids[0].clone()))
        );
    }

    #[test]
    fn a_manifest_without_a_format_goes_out_as_the_first_target_the_product_takes() {
        let both = product(&["display_300x250", "display_300x250_html"]);
        let targets = [id("display_300x250_html"), id("display_300x250")];
        assert_eq!(
            fit(&both, &among(&targets), &facts(None)),
            Some(FormatRef::Id(id("display_300x250")))
        );
    }

    #[test]
    fn computed_targets_are_checked_again_and_chosen_ones_are_not() {
        use crate::formats::{builtin, spec};
        use crate::manifest::asset_type::AssetType;
        use crate::manifest::coverage::AssetFacts;
        let specs: Vec<FormatSpec> = builtin::formats()
            .iter()
            .map(|f| spec::parse(f).unwrap())
            .collect();
        let spec_of = |id: &FormatId| specs.iter().find(|s| s.format_id == *id);
        let standard = |name: &str| FormatId {
            agent_url: builtin::STANDARD_AGENT_URL.into(),
            ..id(name)
        };
        let page = ManifestFacts {
            assets: vec![AssetFacts {
                asset_type: AssetType::Html,
                content_type: Some("text/html".into()),
                width: Some(300),
                height: Some(250),
                duration_ms: None,
                file_size: Some(2_000),
                url_type: None,
                text_len: None,
            }],
            ..facts(None)
        };
        // Stored before its size was read: both HTML sizes among its computed targets.
        let stored = [
            standard("display_300x250_html"),
            standard("display_728x90_html"),
        ];
        let check = |chosen: bool, name: &str| {
            is_target((&stored, chosen), &page, &spec_of, &standard(name))
        };
        assert!(check(false, "display_300x250_html"));
        assert!(!check(false, "display_728x90_html"));
        // The buyer's choice stands (coverage warns about it).
        assert!(check(true, "display_728x90_html"));
        assert!(!check(true, "display_160x600_html"));
    }
}
