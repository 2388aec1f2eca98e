//! What each package of a seller's media buy holds after a job, and what the job must send for it.
//! Pure: the buy as recorded, the selection, and how the seller holds each creative in; the
//! packages out. `run.rs` does the I/O around it.
//!
//! AdCP `update_media_buy` replaces a package's `creative_assignments` and its inline `creatives`
//! whole (each omitted list is left as it is). So a job that touches a package sends the whole of
//! each list it changes, made from every creative the package keeps, not only the ones the job is
//! about: a delete leaves every other creative where it was, whatever the transport history.

use std::collections::{HashMap, HashSet};

use super::calls::PackageResult;
use super::job::{Transport, BATCH};
use super::selection::Selection;
use crate::adcp::types::FormatRef;
use crate::store::media_buys::{MediaBuy, PackageRef};

/// What one package holds at the seller: creatives its library holds, assigned by id, and
/// creatives carried inline on the package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holding {
    pub library: Vec<String>,
    pub inline: Vec<String>,
}

impl Holding {
    /// The package as recorded. A package recorded before the split was kept holds its
    /// creatives the way the whole buy did.
    pub fn recorded(buy: &MediaBuy, p: &PackageRef) -> Holding {
        match &p.inline {
            Some(inline) => Holding {
                library: p
                    .assigned
                    .iter()
                    .filter(|id| !inline.contains(id))
                    .cloned()
                    .collect(),
                inline: inline.clone(),
            },
            None if buy.transport == Transport::Inline.as_str() => Holding {
                library: Vec::new(),
                inline: p.assigned.clone(),
            },
            None => Holding {
                library: p.assigned.clone(),
                inline: Vec::new(),
            },
        }
    }

    /// Every creative the package holds, library ones first.
    pub fn all(&self) -> Vec<String> {
        self.library.iter().chain(&self.inline).cloned().collect()
    }
}

/// What a job sends for one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The seller has no such package yet: it is made (in `create_media_buy` or as one of
    /// `new_packages`) with everything it holds.
    New,
    /// Nothing to tell the seller.
    Unchanged,
    /// `update_media_buy` replaces the lists marked here, and leaves the other as it is.
    Update { assignments: bool, inline: bool },
}

/// One package after the job.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub product_id: String,
    /// The seller's package id, when the buy has the package already.
    pub package_id: Option<String>,
    pub holding: Holding,
    /// The creatives of `holding.inline` to build and carry: (manifest index, format).
    pub inline: Vec<(usize, FormatRef)>,
    /// Creatives the package would carry inline past AdCP's cap ([`BATCH`]): left out.
    pub too_many: Vec<String>,
    pub change: Change,
}

impl Outcome {
    /// Whether the job sends this package's inline creatives.
    pub fn sends_inline(&self) -> bool {
        !self.inline.is_empty()
            && matches!(
                self.change,
                Change::New | Change::Update { inline: true, .. }
            )
    }
}

/// What each package of the selection holds after a job that carries creatives by `job`, and
/// what to send for it.
///
/// - `ids[i]` is the creative id of manifest `i`;
/// - `held` says how the seller holds each creative now (confirmed in its library, or taken
///   inline on a package); a creative it does not hold is absent;
/// - `changed` names the creatives whose content the job carries (`None`: all).
///
/// A creative the library holds is assigned by id, except that an inline job carries the
/// creatives it is about inline (the library did not take their new content). A creative the
/// seller took inline stays inline, sent again in full whenever its package's inline list is
/// (the list is replaced whole). A creative the seller holds in neither way is inline in an
/// inline job and left out of a library job (its sync failed or was refused).
pub fn after_job(
    buy: Option<&MediaBuy>,
    sel: &Selection<'_>,
    ids: &[String],
    held: &HashMap<String, Transport>,
    job: Transport,
    changed: Option<&HashSet<String>>,
) -> Vec<Outcome> {
    let carried = |id: &str| changed.is_none_or(|c| c.contains(id));
    sel.packages
        .iter()
        .map(|pp| {
            let product_id = pp.product.product_id.clone();
            let before = buy.and_then(|b| {
                b.packages
                    .iter()
                    .find(|p| p.product_id == product_id)
                    .map(|p| (p.package_id.clone(), Holding::recorded(b, p)))
            });
            let mut holding = Holding::default();
            let mut inline = Vec::new();
            let mut too_many = Vec::new();
            for (i, format) in &pp.creatives {
                let Some(id) = ids.get(*i) else { continue };
                let how = match (job, held.get(id)) {
                    (Transport::Inline, _) if carried(id) => Some(Transport::Inline),
                    (_, Some(t)) => Some(*t),
                    (Transport::Inline, None) => Some(Transport::Inline),
                    (Transport::Library, None) => None,
                };
                match how {
                    Some(Transport::Library) => holding.library.push(id.clone()),
                    Some(Transport::Inline) if inline.len() < BATCH => {
                        holding.inline.push(id.clone());
                        inline.push((*i, format.clone()));
                    }
                    Some(Transport::Inline) => too_many.push(id.clone()),
                    None => {}
                }
            }
            let (package_id, change) = match before {
                None => (None, Change::New),
                Some((package_id, was)) => {
                    let same = |a: &[String], b: &[String]| {
                        a.iter().collect::<HashSet<_>>() == b.iter().collect::<HashSet<_>>()
                    };
                    let inline_changed = !same(&holding.inline, &was.inline)
                        || holding.inline.iter().any(|id| carried(id));
                    // AdCP has no empty inline list (`minItems: 1`): a package left with no inline
                    // creative can only be told what it holds by its assignments.
                    let emptied = inline_changed && holding.inline.is_empty();
                    let assignments = !same(&holding.library, &was.library) || emptied;
                    let inline = inline_changed && !emptied;
                    let change = if assignments || inline {
                        Change::Update {
                            assignments,
                            inline,
                        }
                    } else {
                        Change::Unchanged
                    };
                    (Some(package_id), change)
                }
            };
            Outcome {
                product_id,
                package_id,
                holding,
                inline,
                too_many,
                change,
            }
        })
        .collect()
}

/// How the buy as a whole carries its creatives after the job: inline once any package carries
/// one inline, by library when all it holds is in the library, else as it was (or as the job
/// would have).
pub fn buy_transport(outcomes: &[Outcome], before: Option<&MediaBuy>, job: Transport) -> Transport {
    if outcomes.iter().any(|o| !o.holding.inline.is_empty()) {
        Transport::Inline
    } else if outcomes.iter().any(|o| !o.holding.library.is_empty()) {
        Transport::Library
    } else {
        match before.map(|b| b.transport.as_str()) {
            Some("inline") => Transport::Inline,
            Some("library") => Transport::Library,
            _ => job,
        }
    }
}

/// The buy's packages as recorded after the seller's answer: each package the seller answered
/// for (named by its echoed `product_id`, else, on a new buy, by its position) with what
/// `outcomes` put in it; packages it did not answer for are kept as they were.
pub fn recorded(
    before: Option<&MediaBuy>,
    answered: &[PackageResult],
    outcomes: &[Outcome],
) -> Vec<PackageRef> {
    let mut packages: Vec<PackageRef> = before.map(|b| b.packages.clone()).unwrap_or_default();
    for (pos, pr) in answered.iter().enumerate() {
        let product = pr.product_id.clone().or_else(|| {
            before
                .is_none()
                .then(|| outcomes.get(pos).map(|o| o.product_id.clone()))
                .flatten()
        });
        if let Some(product) = product {
            packages.retain(|p| p.product_id != product);
            packages.push(PackageRef {
                product_id: product,
                package_id: pr.package_id.clone(),
                assigned: Vec::new(),
                inline: None,
            });
        }
    }
    for o in outcomes {
        if let Some(p) = packages.iter_mut().find(|p| p.product_id == o.product_id) {
            p.assigned = o.holding.all();
            p.inline = Some(o.holding.inline.clone());
        }
    }
    packages
}

/// The creatives the job sends inline, once each (a creative may ride on several packages).
pub fn inline_sent(outcomes: &[Outcome]) -> Vec<String> {
    let mut sent: Vec<String> = Vec::new();
    for o in outcomes.iter().filter(|o| o.sends_inline()) {
        for id in &o.holding.inline {
            if !sent.contains(id) {
                sent.push(id.clone());
            }
        }
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adcp::types::FormatId;
    use crate::ids::SalesAgentId;
    use crate::propagation::selection::PackagePlan;
    use crate::store::campaigns::Product;

    fn product(id: &str) -> Product {
        Product {
            product_id: id.into(),
            sales_agent_id: SalesAgentId::from_db("sa_x".into()),
            format_ids: vec![],
            format_kinds: vec![],
            budget: None,
            pricing_option_id: None,
        }
    }

    fn format() -> FormatRef {
        FormatRef::Id(FormatId {
            agent_url: "https://s.example".into(),
            id: "display_300x250".into(),
            width: None,
            height: None,
            duration_ms: None,
        })
    }

    /// A selection of two products, each wanting every manifest in `wanted`.
    fn selection<'p>(products: &'p [Product], wanted: &[usize]) -> Selection<'p> {
        Selection {
            packages: products
                .iter()
                .map(|p| PackagePlan {
                    product: p,
                    creatives: wanted.iter().map(|i| (*i, format())).collect(),
                })
                .collect(),
            formats: vec![],
        }
    }

    /// A recorded package: product, the creatives it holds, and (if recorded) those inline.
    type Recorded<'a> = (&'a str, &'a [&'a str], Option<&'a [&'a str]>);

    fn buy(transport: Transport, packages: &[Recorded]) -> MediaBuy {
        let list = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        MediaBuy {
            sales_agent_id: "sa_x".into(),
            media_buy_id: "mb".into(),
            revision: Some(1),
            status: None,
            transport: transport.as_str().into(),
            packages: packages
                .iter()
                .map(|(product, assigned, inline)| PackageRef {
                    product_id: product.to_string(),
                    package_id: format!("pkg_{product}"),
                    assigned: list(assigned),
                    inline: inline.map(list),
                })
                .collect(),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn update(assignments: bool, inline: bool) -> Change {
        Change::Update {
            assignments,
            inline,
        }
    }

    /// [`after_job`] for `products` each wanting manifests `wanted` (of `n`), the seller holding
    /// `held`, a job by `transport` about `changed` (None: all).
    fn job(
        recorded: Option<&MediaBuy>,
        products: &[Product],
        wanted: &[usize],
        n: usize,
        held: &[(&str, Transport)],
        transport: Transport,
        changed: Option<&str>,
    ) -> Vec<Outcome> {
        let held: HashMap<String, Transport> =
            held.iter().map(|(id, t)| (id.to_string(), *t)).collect();
        let changed = changed.map(|id| HashSet::from([id.to_owned()]));
        let ids: Vec<String> = (0..n).map(|i| format!("cr_{i}")).collect();
        after_job(
            recorded,
            &selection(products, wanted),
            &ids,
            &held,
            transport,
            changed.as_ref(),
        )
    }

    #[test]
    fn after_an_inline_fallback_a_delete_resends_the_others_inline_and_assigns_nothing_away() {
        // Three creatives went inline on both packages (the library refused them); cr_2 is
        // deleted: the library job has nothing to sync and must not send `creative_assignments: []`.
        let products = [product("a"), product("b")];
        let all: &[&str] = &["cr_0", "cr_1", "cr_2"];
        let recorded = buy(
            Transport::Inline,
            &[("a", all, Some(all)), ("b", all, Some(all))],
        );
        let out = job(
            Some(&recorded),
            &products,
            &[0, 1],
            3,
            &[("cr_0", Transport::Inline), ("cr_1", Transport::Inline)],
            Transport::Library,
            Some("cr_2"),
        );
        for o in &out {
            assert_eq!(o.holding.library, Vec::<String>::new());
            assert_eq!(o.holding.inline, ["cr_0", "cr_1"]);
            assert_eq!(o.change, update(false, true));
            assert!(o.sends_inline());
        }
        assert_eq!(
            buy_transport(&out, Some(&recorded), Transport::Library),
            Transport::Inline
        );
    }

    #[test]
    fn a_buy_recorded_before_the_split_holds_its_creatives_as_the_buy_did() {
        let products = [product("a")];
        let recorded = buy(Transport::Inline, &[("a", &["cr_0", "cr_1"], None)]);
        assert_eq!(
            Holding::recorded(&recorded, &recorded.packages[0]).inline,
            ["cr_0", "cr_1"]
        );
        let out = job(
            Some(&recorded),
            &products,
            &[0],
            2,
            &[("cr_0", Transport::Inline)],
            Transport::Library,
            Some("cr_1"),
        );
        assert_eq!(out[0].holding.inline, ["cr_0"]);
        assert!(out[0].sends_inline());
    }

    #[test]
    fn a_library_creative_joins_the_assignments_and_leaves_inline_ones_alone() {
        // cr_0 went inline (fallback); the library works again and takes cr_1.
        let products = [product("a")];
        let recorded = buy(Transport::Inline, &[("a", &["cr_0"], Some(&["cr_0"]))]);
        let out = job(
            Some(&recorded),
            &products,
            &[0, 1],
            2,
            &[("cr_0", Transport::Inline), ("cr_1", Transport::Library)],
            Transport::Library,
            Some("cr_1"),
        );
        assert_eq!(out[0].holding.library, ["cr_1"]);
        assert_eq!(out[0].holding.inline, ["cr_0"]);
        assert_eq!(out[0].change, update(true, false));
        assert_eq!(out[0].holding.all(), ["cr_1", "cr_0"]);
    }

    #[test]
    fn a_library_delete_reassigns_the_rest_and_a_creative_the_library_refused_is_left_out() {
        let products = [product("a")];
        let recorded = buy(
            Transport::Library,
            &[("a", &["cr_0", "cr_1", "cr_2"], Some(&[]))],
        );
        let out = job(
            Some(&recorded),
            &products,
            &[0, 1, 3],
            4,
            &[("cr_0", Transport::Library), ("cr_1", Transport::Library)],
            Transport::Library,
            Some("cr_2"),
        );
        assert_eq!(out[0].holding.library, ["cr_0", "cr_1"]);
        assert_eq!(out[0].change, update(true, false));
        // Nothing moved: nothing is sent.
        let same = buy(Transport::Library, &[("a", &["cr_0", "cr_1"], Some(&[]))]);
        let out = job(
            Some(&same),
            &products,
            &[0, 1, 3],
            4,
            &[("cr_0", Transport::Library), ("cr_1", Transport::Library)],
            Transport::Library,
            Some("cr_3"),
        );
        assert_eq!(out[0].change, Change::Unchanged);
        assert_eq!(
            buy_transport(&out, Some(&same), Transport::Inline),
            Transport::Library
        );
    }

    #[test]
    fn an_inline_job_carries_what_it_is_about_inline_and_keeps_library_assignments() {
        let products = [product("a"), product("b")];
        let recorded = buy(Transport::Library, &[("a", &["cr_0"], Some(&[]))]);
        let out = job(
            Some(&recorded),
            &products,
            &[0, 1],
            2,
            &[("cr_0", Transport::Library)],
            Transport::Inline,
            Some("cr_1"),
        );
        assert_eq!(out[0].holding.library, ["cr_0"]);
        assert_eq!(out[0].holding.inline, ["cr_1"]);
        assert_eq!(out[0].change, update(false, true));
        // A product new to the buy: a new package with both.
        assert_eq!(out[1].change, Change::New);
        assert_eq!(out[1].package_id, None);
        assert_eq!(out[1].inline.len(), 1);
    }

    #[test]
    fn the_last_inline_creative_gone_is_said_by_the_assignments() {
        let products = [product("a")];
        let recorded = buy(Transport::Inline, &[("a", &["cr_0"], Some(&["cr_0"]))]);
        let out = job(
            Some(&recorded),
            &products,
            &[],
            1,
            &[],
            Transport::Inline,
            Some("cr_0"),
        );
        assert_eq!(out[0].change, update(true, false));
        assert!(!out[0].sends_inline());
    }

    #[test]
    fn inline_creatives_past_the_cap_are_left_out() {
        let products = [product("a")];
        let n = BATCH + 2;
        let out = job(
            None,
            &products,
            &(0..n).collect::<Vec<_>>(),
            n,
            &[],
            Transport::Inline,
            None,
        );
        assert_eq!(out[0].inline.len(), BATCH);
        assert_eq!(
            out[0].too_many,
            [format!("cr_{BATCH}"), format!("cr_{}", BATCH + 1)]
        );
        assert_eq!(out[0].change, Change::New);
    }

    #[test]
    fn packages_are_recorded_by_echoed_product_else_by_position_with_what_they_hold() {
        let products = [product("a"), product("b")];
        let out = job(None, &products, &[0], 1, &[], Transport::Inline, None);
        let answered = |pairs: &[(&str, Option<&str>)]| -> Vec<PackageResult> {
            pairs
                .iter()
                .map(|(id, product)| PackageResult {
                    package_id: id.to_string(),
                    product_id: product.map(str::to_owned),
                })
                .collect()
        };
        let made = recorded(None, &answered(&[("p1", None), ("p2", Some("b"))]), &out);
        let cr = vec!["cr_0".to_string()];
        let package = |product: &str, id: &str| PackageRef {
            product_id: product.into(),
            package_id: id.into(),
            assigned: cr.clone(),
            inline: Some(cr.clone()),
        };
        assert_eq!(made, [package("a", "p1"), package("b", "p2")]);
        assert_eq!(inline_sent(&out), cr);
        // An update's answer names only the packages it touched; the others are kept.
        let before = buy(
            Transport::Inline,
            &[("a", &["cr_0"], Some(&["cr_0"])), ("b", &[], None)],
        );
        let out = job(
            Some(&before),
            &products,
            &[],
            1,
            &[],
            Transport::Inline,
            Some("cr_0"),
        );
        let after = recorded(Some(&before), &answered(&[("pkg_a", Some("a"))]), &out);
        assert_eq!(after.len(), 2);
        assert!(after.iter().all(|p| p.assigned.is_empty()), "{after:?}");
        assert!(inline_sent(&out).is_empty());
    }
}
