//! What a write changes in the delivery roll-ups (migrations 0031, 0032): pure arithmetic on
//! figures, kept as integers so running totals subtract exactly. The store applies the changes
//! (`store/delivery_rollup.rs`) in the transaction of the rows they summarise.

use std::collections::BTreeMap;

use super::rows::SellerRow;

/// Seller figures are kept in ten-thousandths: ISO 4217's finest minor unit, and integers, so
/// `total through end − total before start` is exact where floats would drift.
pub const SCALE: f64 = 10_000.0;

/// The largest figure one seller row may carry (per creative and day): keeps a running total of
/// years of such rows, in ten-thousandths, inside an i64.
pub const MAX_FIGURE: f64 = 1e12;

/// A figure as stored (ten-thousandths).
pub fn scaled(v: f64) -> i64 {
    (v * SCALE).round() as i64
}

/// A stored figure back as the report shows it.
pub fn unscaled(v: i64) -> f64 {
    v as f64 / SCALE
}

/// One seller row's figures, or a sum or difference of some: impressions, clicks, spend,
/// completed views, q1–q4 views (scaled), and how many rows carried each optional figure
/// (completed views, q1–q4), so a sum over rows that carried none reads `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub v: [i64; 8],
    pub n: [i64; 5],
}

impl Figures {
    pub fn of(r: &SellerRow) -> Figures {
        let optional = [
            r.completed_views,
            r.quartiles[0],
            r.quartiles[1],
            r.quartiles[2],
            r.quartiles[3],
        ];
        let mut f = Figures {
            v: [
                scaled(r.impressions),
                scaled(r.clicks),
                scaled(r.spend),
                0,
                0,
                0,
                0,
                0,
            ],
            n: [0; 5],
        };
        for (i, o) in optional.iter().enumerate() {
            if let Some(o) = o {
                f.v[3 + i] = scaled(*o);
                f.n[i] = 1;
            }
        }
        f
    }

    pub fn plus(mut self, o: &Figures) -> Figures {
        for (a, b) in self.v.iter_mut().zip(o.v) {
            *a += b;
        }
        for (a, b) in self.n.iter_mut().zip(o.n) {
            *a += b;
        }
        self
    }

    pub fn minus(self, o: &Figures) -> Figures {
        let mut neg = *o;
        neg.v.iter_mut().for_each(|x| *x = -*x);
        neg.n.iter_mut().for_each(|x| *x = -*x);
        self.plus(&neg)
    }

    pub fn is_zero(&self) -> bool {
        *self == Figures::default()
    }

    /// The figures as a report row of `agent`, `creative` and `day` in `currency`.
    pub fn row(&self, agent: String, creative: String, day: String, currency: String) -> SellerRow {
        let opt = |i: usize| (self.n[i] > 0).then(|| unscaled(self.v[3 + i]));
        SellerRow {
            sales_agent_id: agent,
            creative_id: creative,
            day,
            currency,
            impressions: unscaled(self.v[0]),
            clicks: unscaled(self.v[1]),
            spend: unscaled(self.v[2]),
            completed_views: opt(0),
            quartiles: [opt(1), opt(2), opt(3), opt(4)],
        }
    }

    /// The columns, in the order of [`Figures::values`].
    pub const COLUMNS: [&'static str; 13] = [
        "impressions",
        "clicks",
        "spend",
        "completed_views",
        "q1_views",
        "q2_views",
        "q3_views",
        "q4_views",
        "completed_views_n",
        "q1_views_n",
        "q2_views_n",
        "q3_views_n",
        "q4_views_n",
    ];

    pub fn values(&self) -> [i64; 13] {
        let mut out = [0; 13];
        out[..8].copy_from_slice(&self.v);
        out[8..].copy_from_slice(&self.n);
        out
    }

    pub fn from_values(x: &[i64]) -> Figures {
        let mut f = Figures::default();
        f.v.copy_from_slice(&x[..8]);
        f.n.copy_from_slice(&x[8..13]);
        f
    }
}

/// A change to one running series (a seller, currency and creative) on one day: add `delta`, and
/// whether the day still has a stored row afterwards (`present`; when not, its running row goes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub creative_id: String,
    pub currency: String,
    pub delta: Figures,
    pub present: bool,
}

/// The changes replacing one seller's day makes: rows `old` (as stored) become `new`. A creative
/// whose currency changed leaves its old series and joins the new one. Sorted by (currency,
/// creative), so concurrent writers lock rows in one order.
pub fn changes(old: &[SellerRow], new: &[SellerRow]) -> Vec<Change> {
    let mut out: BTreeMap<(String, String), Change> = BTreeMap::new();
    for (rows, sign) in [(old, -1), (new, 1)] {
        for r in rows {
            let f = Figures::of(r);
            let c = out
                .entry((r.currency.clone(), r.creative_id.clone()))
                .or_insert_with(|| Change {
                    creative_id: r.creative_id.clone(),
                    currency: r.currency.clone(),
                    delta: Figures::default(),
                    present: false,
                });
            if sign < 0 {
                c.delta = c.delta.minus(&f);
            } else {
                c.delta = c.delta.plus(&f);
                c.present = true;
            }
        }
    }
    // Every entry is either present now or was stored before (and must go).
    out.into_values().collect()
}

/// Per currency, what the day's sum changes by, and by how many stored rows: the campaign's
/// per-day roll-up for reports by seller and by day.
pub fn day_changes(old: &[SellerRow], new: &[SellerRow]) -> BTreeMap<String, (i64, Figures)> {
    let mut out: BTreeMap<String, (i64, Figures)> = BTreeMap::new();
    for r in old {
        let e = out.entry(r.currency.clone()).or_default();
        e.0 -= 1;
        e.1 = e.1.minus(&Figures::of(r));
    }
    for r in new {
        let e = out.entry(r.currency.clone()).or_default();
        e.0 += 1;
        e.1 = e.1.plus(&Figures::of(r));
    }
    out.retain(|_, (n, f)| *n != 0 || !f.is_zero());
    out
}

/// Rows of one answer merged per creative (a seller may list a creative on two pages): figures
/// summed, the first currency kept (the stored row is one per creative and day).
pub fn merged(rows: &[SellerRow]) -> Vec<SellerRow> {
    let mut out: BTreeMap<&str, SellerRow> = BTreeMap::new();
    for r in rows {
        match out.get_mut(r.creative_id.as_str()) {
            None => {
                out.insert(&r.creative_id, r.clone());
            }
            Some(m) => {
                let add = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
                };
                m.impressions += r.impressions;
                m.clicks += r.clicks;
                m.spend += r.spend;
                m.completed_views = add(m.completed_views, r.completed_views);
                for i in 0..4 {
                    m.quartiles[i] = add(m.quartiles[i], r.quartiles[i]);
                }
            }
        }
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(creative: &str, cur: &str, imps: f64, views: Option<f64>) -> SellerRow {
        SellerRow {
            sales_agent_id: "sa".into(),
            creative_id: creative.into(),
            day: "2026-12-01".into(),
            currency: cur.into(),
            impressions: imps,
            clicks: 1.0,
            spend: 0.1,
            completed_views: views,
            ..SellerRow::default()
        }
    }

    #[test]
    fn a_restated_day_changes_by_the_difference_and_a_dropped_row_leaves() {
        let old = [r("a", "USD", 10.0, Some(4.0)), r("b", "USD", 5.0, None)];
        let new = [r("a", "USD", 12.0, None)];
        let c = changes(&old, &new);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].creative_id, "a");
        assert!(c[0].present);
        assert_eq!(c[0].delta.v[0], 20_000);
        // The completed views it carried are gone, and so is the row that carried them.
        assert_eq!((c[0].delta.v[3], c[0].delta.n[0]), (-40_000, -1));
        assert_eq!(c[1].creative_id, "b");
        assert!(!c[1].present);
        assert_eq!(c[1].delta.v[0], -50_000);
        let d = day_changes(&old, &new);
        assert_eq!(d["USD"].0, -1);
    }

    #[test]
    fn a_currency_change_moves_the_row_between_series() {
        let c = changes(&[r("a", "USD", 10.0, None)], &[r("a", "EUR", 10.0, None)]);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].currency.as_str(), c[0].present), ("EUR", true));
        assert_eq!((c[1].currency.as_str(), c[1].present), ("USD", false));
        assert_eq!(c[0].delta.v[0], -c[1].delta.v[0]);
    }

    #[test]
    fn an_unchanged_row_is_still_present_and_spend_stays_exact() {
        let same = [r("a", "USD", 10.0, None)];
        let c = changes(&same, &same);
        assert!(c[0].present && c[0].delta.is_zero());
        // 0.1 + 0.2 is not 0.3 in floats; in ten-thousandths it is.
        let sum = Figures::of(&r("a", "USD", 0.0, None)).plus(&Figures::of(&SellerRow {
            spend: 0.2,
            ..SellerRow::default()
        }));
        assert_eq!(unscaled(sum.v[2]), 0.3);
        let row = sum.row("s".into(), "a".into(), String::new(), "USD".into());
        assert_eq!(row.completed_views, None);
    }

    #[test]
    fn duplicate_creatives_of_one_answer_are_summed() {
        let m = merged(&[r("a", "USD", 1.0, None), r("a", "USD", 2.0, Some(1.0))]);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].impressions, m[0].completed_views), (3.0, Some(1.0)));
    }
}
