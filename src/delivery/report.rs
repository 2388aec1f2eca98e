//! The delivery report, from stored rows: seller-reported figures beside the trackers' own counts,
//! grouped by creative, seller or day, with the discrepancy in per cent and totals per currency.
//! Pure functions over rows the store hands over (already summed to the report's grain).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::rollup::{scaled, Figures};
pub use super::rows::{MeasuredRow, SellerRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Creative,
    Seller,
    Day,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        match s {
            "creative" => Some(GroupBy::Creative),
            "seller" => Some(GroupBy::Seller),
            "day" => Some(GroupBy::Day),
            _ => None,
        }
    }

    /// The name a request gives it (`group_by=`), as the answer echoes it.
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Creative => "creative",
            GroupBy::Seller => "seller",
            GroupBy::Day => "day",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Creative => "creative_id",
            GroupBy::Seller => "sales_agent_id",
            GroupBy::Day => "day",
        }
    }
}

/// One row of the report: a key (creative, seller or day) in one currency. Seller figures are
/// `None` where no seller reported; measured ones are the trackers' counts attributed to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Row {
    pub key: String,
    /// The sellers' currency for `spend`; `None` for tracker counts no seller's report covers.
    pub currency: Option<String>,
    pub impressions: Option<f64>,
    pub clicks: Option<f64>,
    pub spend: Option<f64>,
    pub ctr: Option<f64>,
    pub completed_views: Option<f64>,
    pub q1_views: Option<f64>,
    pub q2_views: Option<f64>,
    pub q3_views: Option<f64>,
    pub q4_views: Option<f64>,
    pub measured_impressions: i64,
    pub measured_clicks: i64,
    /// (measured − seller) / seller × 100, when the seller reported any.
    pub impressions_discrepancy_pct: Option<f64>,
    pub clicks_discrepancy_pct: Option<f64>,
}

fn pct(measured: i64, seller: Option<f64>) -> Option<f64> {
    seller
        .filter(|s| *s > 0.0)
        .map(|s| ((measured as f64 - s) / s * 100.0 * 100.0).round() / 100.0)
}

/// A row as it is summed: the sellers' figures in ten-thousandths (`None` where no seller
/// reported), integers so a sum is exact whatever the order or grain the rows were read in (the
/// store may sum sellers together in SQL), beside the trackers' counts.
#[derive(Debug, Clone, Copy, Default)]
struct Sum {
    seller: Option<Figures>,
    measured: (i64, i64),
}

impl Sum {
    fn add_seller(&mut self, f: &Figures) {
        self.seller = Some(self.seller.unwrap_or_default().plus(f));
    }

    fn add(&mut self, o: &Sum) {
        if let Some(f) = &o.seller {
            self.add_seller(f);
        }
        self.measured.0 += o.measured.0;
        self.measured.1 += o.measured.1;
    }

    fn row(&self, key: String, currency: Option<String>) -> Row {
        let seller = self
            .seller
            .map(|f| f.row(String::new(), String::new(), String::new(), String::new()));
        let s = seller.as_ref();
        let (impressions, clicks) = (s.map(|s| s.impressions), s.map(|s| s.clicks));
        Row {
            key,
            currency,
            impressions,
            clicks,
            spend: s.map(|s| s.spend),
            ctr: match (impressions, clicks) {
                (Some(i), Some(c)) if i > 0.0 => Some(c / i),
                _ => None,
            },
            completed_views: s.and_then(|s| s.completed_views),
            q1_views: s.and_then(|s| s.quartiles[0]),
            q2_views: s.and_then(|s| s.quartiles[1]),
            q3_views: s.and_then(|s| s.quartiles[2]),
            q4_views: s.and_then(|s| s.quartiles[3]),
            measured_impressions: self.measured.0,
            measured_clicks: self.measured.1,
            impressions_discrepancy_pct: pct(self.measured.0, impressions),
            clicks_discrepancy_pct: pct(self.measured.1, clicks),
        }
    }
}

/// The trackers' counts for one creative, seller and day, in the currency they are reported
/// beside (`None`: no seller's report covers them). The seller is `""` for a media buy the
/// campaign does not know, and where the rows were summed over sellers already.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributed {
    pub creative_id: String,
    pub sales_agent_id: String,
    pub day: String,
    pub currency: Option<String>,
    pub impressions: i64,
    pub clicks: i64,
}

/// Each seller's currency for its tracker counts: the one it reports in or, where it changed
/// currency within the span, the one carrying most of its impressions (ties: the first code), so
/// the answer does not depend on the order rows were read in. `volume`: (seller, currency,
/// impressions in ten-thousandths), a seller and currency any number of times.
pub fn main_currencies<'a>(
    volume: impl IntoIterator<Item = (&'a str, &'a str, i64)>,
) -> HashMap<String, String> {
    let mut by: HashMap<&str, BTreeMap<&str, i64>> = HashMap::new();
    for (seller, currency, imps) in volume {
        *by.entry(seller).or_default().entry(currency).or_default() += imps;
    }
    by.into_iter()
        .filter_map(|(seller, by)| {
            by.into_iter()
                .fold(None, |best: Option<(&str, i64)>, (c, v)| match best {
                    Some((_, bv)) if bv >= v => best,
                    _ => Some((c, v)),
                })
                .map(|(c, _)| (seller.to_owned(), c.to_owned()))
        })
        .collect()
}

/// The currency each media buy's tracker counts are reported in (`seller_of`: media buy to
/// seller; `currency_of`: [`main_currencies`]); a buy missing here has none.
pub fn currency_by_buy(
    seller_of: &HashMap<String, String>,
    currency_of: &HashMap<String, String>,
) -> BTreeMap<String, String> {
    seller_of
        .iter()
        .filter_map(|(buy, seller)| Some((buy.clone(), currency_of.get(seller)?.clone())))
        .collect()
}

/// Tracker counts with their seller (`seller_of`: media buy to seller) and its currency.
pub fn attribute(
    measured: &[MeasuredRow],
    seller_of: &HashMap<String, String>,
    currency_of: &HashMap<String, String>,
) -> Vec<Attributed> {
    measured
        .iter()
        .map(|m| {
            let seller = seller_of.get(&m.media_buy_id).cloned().unwrap_or_default();
            Attributed {
                creative_id: m.creative_id.clone(),
                currency: currency_of.get(&seller).cloned(),
                sales_agent_id: seller,
                day: m.day.clone(),
                impressions: m.impressions,
                clicks: m.clicks,
            }
        })
        .collect()
}

/// The report's rows (by key, then currency) and its totals per currency. `seller_of` maps a
/// media buy to its seller; tracker counts whose media buy is unknown stay under seller `""`.
pub fn build(
    group: GroupBy,
    sellers: &[SellerRow],
    measured: &[MeasuredRow],
    seller_of: &HashMap<String, String>,
) -> (Vec<Row>, Vec<Row>) {
    let currency_of = main_currencies(sellers.iter().map(|r| {
        (
            r.sales_agent_id.as_str(),
            r.currency.as_str(),
            scaled(r.impressions),
        )
    }));
    let attributed = attribute(measured, seller_of, &currency_of);
    assemble(group, sellers, &attributed)
}

/// The report's rows and totals from seller rows and attributed tracker counts at (or below) the
/// grain of `group`.
pub fn assemble(
    group: GroupBy,
    sellers: &[SellerRow],
    measured: &[Attributed],
) -> (Vec<Row>, Vec<Row>) {
    let key_of = |creative: &str, seller: &str, day: &str| match group {
        GroupBy::Creative => creative.to_owned(),
        GroupBy::Seller => seller.to_owned(),
        GroupBy::Day => day.to_owned(),
    };
    let mut rows: BTreeMap<(String, Option<String>), Sum> = BTreeMap::new();
    for r in sellers {
        let key = key_of(&r.creative_id, &r.sales_agent_id, &r.day);
        rows.entry((key, Some(r.currency.clone())))
            .or_default()
            .add_seller(&Figures::of(r));
    }
    for m in measured {
        let key = key_of(&m.creative_id, &m.sales_agent_id, &m.day);
        let sum = rows.entry((key, m.currency.clone())).or_default();
        sum.measured.0 += m.impressions;
        sum.measured.1 += m.clicks;
    }
    let mut totals: BTreeMap<Option<String>, Sum> = BTreeMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for ((key, currency), sum) in rows {
        totals.entry(currency.clone()).or_default().add(&sum);
        out.push(sum.row(key, currency));
    }
    let totals = totals
        .into_iter()
        .map(|(currency, sum)| sum.row("total".into(), currency))
        .collect();
    (out, totals)
}

/// The CSV header for rows keyed by `group`.
pub fn csv_header(group: GroupBy) -> String {
    format!(
        "{},currency,impressions,clicks,spend,ctr,completed_views,q1_views,q2_views,q3_views,q4_views,\
         measured_impressions,measured_clicks,impressions_discrepancy_pct,clicks_discrepancy_pct",
        group.as_str()
    )
}

/// A CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a leading `=`, `+`,
/// `-` or `@` is prefixed with `'` so a spreadsheet does not run it as a formula.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// One row as a CSV line (the same figures as its JSON).
pub fn csv_line(r: &Row) -> String {
    [
        field(&r.key),
        field(r.currency.as_deref().unwrap_or("")),
        num(r.impressions),
        num(r.clicks),
        num(r.spend),
        num(r.ctr),
        num(r.completed_views),
        num(r.q1_views),
        num(r.q2_views),
        num(r.q3_views),
        num(r.q4_views),
        r.measured_impressions.to_string(),
        r.measured_clicks.to_string(),
        num(r.impressions_discrepancy_pct),
        num(r.clicks_discrepancy_pct),
    ]
    .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grouping_is_parsed_back_from_its_name() {
        for g in [GroupBy::Creative, GroupBy::Seller, GroupBy::Day] {
            assert_eq!(GroupBy::parse(g.name()), Some(g));
        }
    }

    fn s(seller: &str, creative: &str, day: &str, cur: &str, imps: f64, clicks: f64) -> SellerRow {
        SellerRow {
            sales_agent_id: seller.into(),
            creative_id: creative.into(),
            day: day.into(),
            currency: cur.into(),
            impressions: imps,
            clicks,
            spend: imps / 1000.0,
            ..SellerRow::default()
        }
    }

    fn m(creative: &str, buy: &str, day: &str, imps: i64, clicks: i64) -> MeasuredRow {
        MeasuredRow {
            creative_id: creative.into(),
            media_buy_id: buy.into(),
            day: day.into(),
            impressions: imps,
            clicks,
        }
    }

    #[test]
    fn rows_put_seller_and_measured_side_by_side_and_never_mix_currencies() {
        let sellers = [
            s("sa_1", "a", "2026-12-01", "USD", 1000.0, 10.0),
            s("sa_1", "a", "2026-12-02", "USD", 1000.0, 10.0),
            s("sa_2", "a", "2026-12-01", "EUR", 500.0, 5.0),
        ];
        let measured = [
            m("a", "mb_1", "2026-12-01", 950, 10),
            m("a", "mb_x", "2026-12-01", 7, 0),
        ];
        let seller_of: HashMap<String, String> = [("mb_1".to_owned(), "sa_1".to_owned())].into();
        let (rows, totals) = build(GroupBy::Creative, &sellers, &measured, &seller_of);
        // a in USD (sa_1), a in EUR (sa_2), a with no currency (an unknown media buy).
        assert_eq!(rows.len(), 3);
        let usd = rows
            .iter()
            .find(|r| r.currency.as_deref() == Some("USD"))
            .unwrap();
        assert_eq!(
            (usd.impressions, usd.measured_impressions),
            (Some(2000.0), 950)
        );
        assert_eq!(usd.impressions_discrepancy_pct, Some(-52.5));
        assert_eq!(usd.ctr, Some(0.01));
        let none = rows.iter().find(|r| r.currency.is_none()).unwrap();
        assert_eq!((none.impressions, none.measured_impressions), (None, 7));
        assert_eq!(totals.len(), 3);
        let (rows, _) = build(GroupBy::Day, &sellers, &measured, &seller_of);
        assert_eq!(rows[0].key, "2026-12-01");
    }

    #[test]
    fn a_sellers_tracker_counts_take_its_main_currency_whatever_the_row_order() {
        let mut sellers = vec![
            s("sa_1", "a", "2026-12-01", "EUR", 10.0, 0.0),
            s("sa_1", "b", "2026-12-02", "USD", 900.0, 0.0),
        ];
        let measured = [m("a", "mb_1", "2026-12-01", 5, 0)];
        let seller_of: HashMap<String, String> = [("mb_1".to_owned(), "sa_1".to_owned())].into();
        let (_, one) = build(GroupBy::Seller, &sellers, &measured, &seller_of);
        sellers.reverse();
        let (_, other) = build(GroupBy::Seller, &sellers, &measured, &seller_of);
        assert_eq!(one, other);
        let usd = one
            .iter()
            .find(|t| t.currency.as_deref() == Some("USD"))
            .unwrap();
        assert_eq!(usd.measured_impressions, 5);
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd()"), "'=cmd()");
        assert_eq!(csv_header(GroupBy::Seller).split(',').count(), 15);
        assert_eq!(csv_line(&Row::default()).split(',').count(), 15);
    }
}
