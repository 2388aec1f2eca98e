//! The rows a report is made of, as stored: a seller's figures for a creative and day, the trackers'
//! counts for a creative, media buy and day.

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
