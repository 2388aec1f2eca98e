//! Which manifests a seller gets, on which of its products, and as which format. Pure: the
//! campaign and its manifests in, the packages out.

use crate::adcp::types::FormatRef;
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

/// The format of `p` that `m` fulfils: a named format among its targets, or a kind it meets.
fn fit(p: &Product, m: &Manifest, facts: &ManifestFacts) -> Option<FormatRef> {
    if let Some(id) = p
        .format_ids
        .iter()
        .find(|id| m.target_format_ids.contains(id))
    {
        return Some(FormatRef::Id(id.clone()));
    }
    p.format_kinds
        .iter()
        .find(|k| check_kind(k, facts).is_empty())
        .map(|k| FormatRef::Kind(k.format_kind))
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
            if let Some(f) = fit(product, m, &facts[i]) {
                formats[i].get_or_insert_with(|| f.clone());
                creatives.push((i, f));
            }
        }
        packages.push(PackagePlan { product, creatives });
    }
    Selection { packages, formats }
}
