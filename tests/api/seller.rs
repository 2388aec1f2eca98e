//! The demo seller (`src/demo_seller/`) as the tests use it: every request it receives and every
//! answer of its own making is checked against the official AdCP schemas.

use std::ops::{Deref, DerefMut};

#[allow(unused_imports)] // the propagation bench uses only some
pub use creative_manifests::demo_seller::{Call, QueueTask, SellerConfig};

use crate::schemas::violations;

pub struct Seller(creative_manifests::demo_seller::Seller);

impl Seller {
    pub async fn start(config: SellerConfig) -> Seller {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Seller(creative_manifests::demo_seller::Seller::serve(
            listener,
            config,
            Some(violations),
        ))
    }
}

impl Deref for Seller {
    type Target = creative_manifests::demo_seller::Seller;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Seller {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}
