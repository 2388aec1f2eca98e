//! How manifests reach one seller, decided from what is known of it (AdCP: library sellers get
//! `sync_creatives` then packages that reference the creatives; others get the creatives inline on
//! each package).

use crate::store::sales_agents::{Capabilities, LibrarySupport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// `sync_creatives`, then `creative_assignments` on the packages. If the sync fails and the
    /// seller accepts inline creatives, fall back to inline; otherwise the seller's buy fails.
    Library { fallback_inline: bool },
    /// The creatives inline on each package that needs them.
    Inline,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the seller keeps no creative library and accepts no inline creatives: nothing can carry the creatives")]
pub struct NoTransport;

pub fn plan(caps: &Capabilities) -> Result<Plan, NoTransport> {
    let library = match caps.has_creative_library {
        LibrarySupport::Yes => true,
        LibrarySupport::No => false,
        // Unknown (and not learned from get_adcp_capabilities): use sync if the seller offers it.
        LibrarySupport::Unknown => caps.advertised_tools.iter().any(|t| t == "sync_creatives"),
    };
    match (library, caps.supports_inline) {
        (true, inline) => Ok(Plan::Library {
            fallback_inline: inline,
        }),
        (false, true) => Ok(Plan::Inline),
        (false, false) => Err(NoTransport),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(lib: LibrarySupport, inline: bool, tools: &[&str]) -> Capabilities {
        Capabilities {
            has_creative_library: lib,
            supports_inline: inline,
            advertised_tools: tools.iter().map(|t| t.to_string()).collect(),
            probed_at: None,
        }
    }

    #[test]
    fn library_sellers_sync_with_inline_fallback_when_they_accept_it() {
        assert_eq!(
            plan(&caps(LibrarySupport::Yes, true, &[])),
            Ok(Plan::Library {
                fallback_inline: true
            })
        );
        assert_eq!(
            plan(&caps(LibrarySupport::Yes, false, &[])),
            Ok(Plan::Library {
                fallback_inline: false
            })
        );
    }

    #[test]
    fn sellers_without_a_library_get_creatives_inline() {
        assert_eq!(
            plan(&caps(LibrarySupport::No, true, &["sync_creatives"])),
            Ok(Plan::Inline)
        );
        assert_eq!(
            plan(&caps(LibrarySupport::No, false, &[])),
            Err(NoTransport)
        );
    }

    #[test]
    fn unknown_sellers_sync_if_they_advertise_it_else_inline() {
        assert_eq!(
            plan(&caps(
                LibrarySupport::Unknown,
                true,
                &["sync_creatives", "create_media_buy"]
            )),
            Ok(Plan::Library {
                fallback_inline: true
            })
        );
        assert_eq!(
            plan(&caps(LibrarySupport::Unknown, true, &["create_media_buy"])),
            Ok(Plan::Inline)
        );
    }
}
