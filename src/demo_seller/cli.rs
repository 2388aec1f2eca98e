//! `creative-manifests demo-seller`: the demo seller as a process, so a newcomer can see a whole
//! propagation (`succeeded`) on one machine without writing a seller.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use super::{QueueTask, Seller, SellerConfig};

/// How the demo seller takes creatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// Keeps a creative library: `sync_creatives`, then media buys assigning the creatives.
    Library,
    /// No library: creatives travel inline on media-buy packages.
    Inline,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Address the demo seller listens on (its MCP endpoint is http://ADDR/mcp).
    #[arg(long, env = "DEMO_SELLER_ADDR", default_value = "127.0.0.1:8090")]
    pub seller_addr: SocketAddr,
    /// Library or inline seller.
    #[arg(long, value_enum, default_value = "library")]
    pub transport: Transport,
    /// Bearer token the seller requires (none: any caller).
    #[arg(long, env = "DEMO_SELLER_TOKEN")]
    pub token: Option<String>,
    /// Review every creative and media buy before deciding: calls answer `submitted`, and this many
    /// seconds later the seller decides and tells the buyer's webhook (0: decide at once).
    #[arg(long, default_value_t = 0)]
    pub review_secs: u64,
    /// Creatives with this name are refused at review (`CREATIVE_REJECTED`); repeatable.
    #[arg(long)]
    pub reject_name: Vec<String>,
}

/// The seller's own formats, beside the AdCP standard ones the service already knows.
fn demo_formats(agent_url: &str) -> Vec<Value> {
    [("homepage_takeover", 970, 250), ("sticky_footer", 320, 50)]
        .into_iter()
        .map(|(id, w, h)| {
            json!({
                "format_id": {"agent_url": agent_url, "id": id},
                "name": format!("Demo seller {id}"),
                "renders": [{"role": "primary", "dimensions": {"width": w, "height": h}}],
                "assets": [{
                    "item_type": "individual", "asset_id": "hero", "asset_type": "image", "required": true,
                    "requirements": {"min_width": w, "max_width": w, "min_height": h, "max_height": h}
                }]
            })
        })
        .collect()
}

/// The switches of a demo seller; pure, so the mapping is tested without a socket.
pub fn config(args: &DemoArgs, agent_url: &str) -> SellerConfig {
    let mut queue_tasks = HashMap::new();
    if args.review_secs > 0 {
        for tool in ["sync_creatives", "create_media_buy", "update_media_buy"] {
            // Unfinished until the review loop below decides it.
            queue_tasks.insert(
                tool.to_owned(),
                QueueTask {
                    polls: u32::MAX,
                    ..Default::default()
                },
            );
        }
    }
    SellerConfig {
        formats: demo_formats(agent_url),
        token: args.token.clone(),
        has_creative_library: Some(args.transport == Transport::Library),
        reject_creative_names: args.reject_name.clone(),
        queue_tasks,
        previews: Some(super::Previews::default()),
        ..Default::default()
    }
}

/// Runs the demo seller until `shutdown` resolves.
pub async fn run(
    args: DemoArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.seller_addr).await?;
    let addr = listener.local_addr()?;
    let agent_url = format!("http://{addr}");
    let seller = Seller::serve(listener, config(&args, &agent_url), None);
    tracing::info!(
        url = %seller.url,
        transport = ?args.transport,
        review_secs = args.review_secs,
        "demo seller listening (register it with OUTBOUND_ALLOW_PRIVATE=true on the service: it is on a loopback address)"
    );
    let review = async {
        if args.review_secs == 0 {
            return std::future::pending::<()>().await;
        }
        let every = Duration::from_secs(args.review_secs);
        loop {
            tokio::time::sleep(every).await;
            for task_id in seller.unfinished_tasks() {
                let (status, _) = seller.finish_task(&task_id).await;
                tracing::info!(%task_id, webhook_status = status, "demo seller decided a task");
            }
        }
    };
    tokio::select! {
        () = review => {},
        () = shutdown => {},
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: DemoArgs,
    }

    fn parse(argv: &[&str]) -> DemoArgs {
        Cli::parse_from(std::iter::once("demo").chain(argv.iter().copied())).args
    }

    #[test]
    fn decides_at_once_by_default_and_queues_with_a_review_delay() {
        let now = config(&parse(&[]), "http://x");
        assert!(now.queue_tasks.is_empty());
        assert_eq!(now.has_creative_library, Some(true));
        let later = config(
            &parse(&["--review-secs", "3", "--transport", "inline"]),
            "http://x",
        );
        assert!(later.queue_tasks.contains_key("create_media_buy"));
        assert_eq!(later.has_creative_library, Some(false));
    }
}
