//! The delivery report, from stored rows: seller-reported figures beside the trackers' own counts,
//! grouped by creative, seller or day, with the discrepancy in per cent and totals per currency.
//! Pure functions over rows the store hands over (already summed to the report's grain).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

/// One seller's report for one creative and day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SellerRow {
    pub sales_agent_id: String,
    pub creative_id: String,
    pub day: String,
    pub currency: String,
    pub impressions: f64,
    pub clicks: f64,
    pub spend: f64,
    pub completed_views: Option<f64>,
    pub quartiles: [Option<f64>; 4],
}

/// The trackers' counts for one creative, media buy and day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeasuredRow {
    pub creative_id: String,
    pub media_buy_id: String,
    pub day: String,
    pub impressions: i64,
    pub clicks: i64,
}

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

fn add(a: &mut Option<f64>, b: Option<f64>) {
    if let Some(b) = b {
        *a = Some(a.unwrap_or(0.0) + b);
    }
}

fn pct(measured: i64, seller: Option<f64>) -> Option<f64> {
    seller
        .filter(|s| *s > 0.0)
        .map(|s| ((measured as f64 - s) / s * 100.0 * 100.0).round() / 100.0)
}

impl Row {
    fn absorb_seller(&mut self, r: &SellerRow) {
        add(&mut self.impressions, Some(r.impressions));
        add(&mut self.clicks, Some(r.clicks));
        add(&mut self.spend, Some(r.spend));
        add(&mut self.completed_views, r.completed_views);
        add(&mut self.q1_views, r.quartiles[0]);
        add(&mut self.q2_views, r.quartiles[1]);
        add(&mut self.q3_views, r.quartiles[2]);
        add(&mut self.q4_views, r.quartiles[3]);
    }

    fn absorb(&mut self, o: &Row) {
        for (a, b) in [
            (&mut self.impressions, o.impressions),
            (&mut self.clicks, o.clicks),
            (&mut self.spend, o.spend),
            (&mut self.completed_views, o.completed_views),
            (&mut self.q1_views, o.q1_views),
            (&mut self.q2_views, o.q2_views),
            (&mut self.q3_views, o.q3_views),
            (&mut self.q4_views, o.q4_views),
        ] {
            add(a, b);
        }
        self.measured_impressions += o.measured_impressions;
        self.measured_clicks += o.measured_clicks;
    }

    fn finish(&mut self) {
        self.ctr = match (self.impressions, self.clicks) {
            (Some(i), Some(c)) if i > 0.0 => Some(c / i),
            _ => None,
        };
        self.impressions_discrepancy_pct = pct(self.measured_impressions, self.impressions);
        self.clicks_discrepancy_pct = pct(self.measured_clicks, self.clicks);
    }
}

/// The report's rows (by key, then currency) and its totals per currency. `seller_of` maps a
/// media buy to its seller; tracker counts whose media buy is unknown stay under seller `""`.
pub fn build(
    group: GroupBy,
    sellers: &[SellerRow],
    measured: &[MeasuredRow],
    seller_of: &HashMap<String, String>,
) -> (Vec<Row>, Vec<Row>) {
    // Rows in one order whatever order the store read them in: sums of floats depend on it.
    let mut sorted: Vec<&SellerRow> = sellers.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.sales_agent_id, &a.creative_id, &a.day, &a.currency).cmp(&(
            &b.sales_agent_id,
            &b.creative_id,
            &b.day,
            &b.currency,
        ))
    });
    let sellers = sorted;
    // The grain both sources share: creative, seller, day. Tracker counts take their seller's
    // currency: the one it reports in, or where it changed currency within the span, the one
    // carrying most of its impressions (ties: the first code), so the answer does not depend on
    // the order rows were read in.
    let mut volume: HashMap<&str, BTreeMap<&str, f64>> = HashMap::new();
    for r in &sellers {
        *volume
            .entry(&r.sales_agent_id)
            .or_default()
            .entry(&r.currency)
            .or_default() += r.impressions;
    }
    let currency_of: HashMap<&str, &str> = volume
        .into_iter()
        .filter_map(|(seller, by)| {
            by.into_iter()
                .fold(None, |best: Option<(&str, f64)>, (c, v)| match best {
                    Some((_, bv)) if bv >= v => best,
                    _ => Some((c, v)),
                })
                .map(|(c, _)| (seller, c))
        })
        .collect();
    let key_of = |creative: &str, seller: &str, day: &str| match group {
        GroupBy::Creative => creative.to_owned(),
        GroupBy::Seller => seller.to_owned(),
        GroupBy::Day => day.to_owned(),
    };
    let mut rows: BTreeMap<(String, Option<String>), Row> = BTreeMap::new();
    for r in sellers {
        let key = key_of(&r.creative_id, &r.sales_agent_id, &r.day);
        rows.entry((key.clone(), Some(r.currency.clone())))
            .or_insert_with(|| Row {
                key,
                currency: Some(r.currency.clone()),
                ..Row::default()
            })
            .absorb_seller(r);
    }
    for m in measured {
        let seller = seller_of.get(&m.media_buy_id).map_or("", String::as_str);
        let currency = currency_of.get(seller).map(|c| (*c).to_owned());
        let key = key_of(&m.creative_id, seller, &m.day);
        let row = rows
            .entry((key.clone(), currency.clone()))
            .or_insert_with(|| Row {
                key,
                currency,
                ..Row::default()
            });
        row.measured_impressions += m.impressions;
        row.measured_clicks += m.clicks;
    }
    let mut totals: BTreeMap<Option<String>, Row> = BTreeMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (_, mut row) in rows {
        totals
            .entry(row.currency.clone())
            .or_insert_with(|| Row {
                key: "total".into(),
                currency: row.currency.clone(),
                ..Row::default()
            })
            .absorb(&row);
        row.finish();
        out.push(row);
    }
    let totals = totals
        .into_values()
        .map(|mut t| {
            t.finish();
            t
        })
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
