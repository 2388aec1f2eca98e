//! Which manifests a seller gets, on which of its products, and as which format. Pure: the
//! campaign and its manifests in, the packages out.

use crate::adcp::types::{FormatId, FormatRef};
use crate::ids::SalesAgentId;
use crate::manifest::coverage::{check_kind, ManifestFacts};
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

/// The format of `p` that a manifest (its `targets` and `facts`) goes out as. A manifest made for
/// a named format goes out as that format or not at all: another format it also satisfies (an HTML
/// page's backup image fits the image format of its size) would make the seller a different
/// creative, with its assets under another format's slots. Otherwise: a named format among its
/// targets, or a kind it meets.
fn fit(p: &Product, targets: &[FormatId], facts: &ManifestFacts) -> Option<FormatRef> {
    if let Some(FormatRef::Id(own)) = &facts.format {
        return p
            .format_ids
            .iter()
            .find(|id| same_format(id, own) && targets.iter().any(|t| same_format(t, own)))
            .map(|id| FormatRef::Id(id.clone()));
    }
    if let Some(id) = p.format_ids.iter().find(|id| targets.contains(id)) {
        return Some(FormatRef::Id(id.clone()));
    }
    p.format_kinds
        .iter()
        .find(|k| check_kind(k, facts).is_empty())
        .map(|k| FormatRef::Kind(k.format_kind))
}

/// The same format, whatever parameters (size, duration) either reference adds.
fn same_format(a: &FormatId, b: &FormatId) -> bool {
    a.agent_url == b.agent_url && a.id == b.id
}

pub fn select<'c>(
    campaign: &'c Campaign,
    seller: &SalesAgentId,
    manifests: &[Manifest],
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
            if let Some(f) = fit(product, &m.target_format_ids, &facts[i]) {
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
            fit(&both, &targets, &html),
            Some(FormatRef::Id(id("display_300x250_html")))
        );
        // A product that does not take its format does not get it as another one.
        assert_eq!(fit(&product(&["display_300x250"]), &targets, &html), None);
        // Nor does one whose format it does not satisfy.
        assert_eq!(fit(&both, &[id("display_300x250")], &html), None);
        // A product's reference with parameters is the same format.
        let mut sized = product(&[]);
        sized.format_ids.push(FormatId {
            width: Some(300),
            height: Some(250),
            ..id("display_300x250_html")
        });
        assert_eq!(
            fit(&sized, &targets, &html),
            Some(FormatRef::Id(sized.format_ids[0].clone()))
        );
    }

    #[test]
    fn a_manifest_without_a_format_goes_out_as_the_first_target_the_product_takes() {
        let both = product(&["display_300x250", "display_300x250_html"]);
        let targets = [id("display_300x250_html"), id("display_300x250")];
        assert_eq!(
            fit(&both, &targets, &facts(None)),
            Some(FormatRef::Id(id("display_300x250")))
        );
    }
}
