//! The format registry: the standard formats plus those each customer's sales agents publish.

pub mod builtin;
pub mod fetch;
pub mod spec;
pub mod templates;

use std::sync::OnceLock;

use serde_json::Value;

use crate::adcp::types::FormatId;
use crate::ids::{CustomerId, SalesAgentId};
use crate::store::{formats as stored, Db};
use spec::FormatSpec;

/// Where a format comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Standard,
    Agent {
        sales_agent_id: SalesAgentId,
        fetched_at: String,
    },
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// The full AdCP `Format`, served as is.
    pub format: Value,
    pub spec: FormatSpec,
    pub source: Source,
}

fn standard() -> &'static [Entry] {
    static STANDARD: OnceLock<Vec<Entry>> = OnceLock::new();
    STANDARD.get_or_init(|| {
        builtin::formats()
            .into_iter()
            .filter_map(|format| {
                let spec = spec::parse(&format).ok()?;
                Some(Entry {
                    format,
                    spec,
                    source: Source::Standard,
                })
            })
            .collect()
    })
}

/// The formats one customer can see: the standard ones (built once per process) and their agents'.
pub struct Registry {
    standard: &'static [Entry],
    agents: Vec<Entry>,
}

impl Registry {
    pub async fn for_customer(db: &Db, customer: &CustomerId) -> anyhow::Result<Registry> {
        let standard = standard();
        let mut agents: Vec<Entry> = Vec::new();
        for f in stored::for_customer(db, customer).await? {
            // A stored format that no longer parses is skipped, not fatal: it came from a seller.
            let Ok(spec) = spec::parse(&f.format) else {
                continue;
            };
            let known = |e: &Entry| e.spec.format_id == spec.format_id;
            if standard.iter().any(known) || agents.iter().any(known) {
                continue;
            }
            agents.push(Entry {
                format: f.format,
                spec,
                source: Source::Agent {
                    sales_agent_id: f.sales_agent_id,
                    fetched_at: f.fetched_at,
                },
            });
        }
        Ok(Registry { standard, agents })
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.standard.iter().chain(self.agents.iter())
    }

    /// The format a reference names, parameters aside (`{agent_url, id}` in normal form).
    pub fn find(&self, id: &FormatId) -> Option<&Entry> {
        self.entries()
            .find(|e| e.spec.format_id.agent_url == id.agent_url && e.spec.format_id.id == id.id)
    }

    pub fn spec_of(&self, id: &FormatId) -> Option<&FormatSpec> {
        self.find(id).map(|e| &e.spec)
    }
}
