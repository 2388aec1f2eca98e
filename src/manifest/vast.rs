//! VAST documents (IAB Video Ad Serving Template 2.0 to 4.3): checking what a buyer uploads, and adding the
//! service's impression and click trackers. Pure: bytes in, values out.
//!
//! Trackers are added as text at byte offsets found while reading, never by re-serialising, so everything else in
//! the document (formatting, comments, CDATA, attribute order, namespaces) reaches the player exactly as uploaded.

use quick_xml::events::Event;
use quick_xml::Reader;

/// Larger documents are refused before reading: real VAST is a few kilobytes.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// Deeper nesting is refused: VAST nests about ten levels; this bounds the reader's stack on hostile input.
const MAX_DEPTH: usize = 256;
const VERSIONS: &[&str] = &["2.0", "3.0", "4.0", "4.1", "4.2", "4.3"];
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What a valid VAST document holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VastInfo {
    /// The root's `version`, one of 2.0, 3.0, 4.0, 4.1, 4.2, 4.3.
    pub version: String,
    /// The kind of the first `<Ad>`.
    pub kind: VastKind,
    pub ad_count: usize,
    /// `<MediaFile>` elements over all InLine ads.
    pub media_files: usize,
    /// From the first `<Linear>`'s `<Duration>`, when it has one.
    pub duration_ms: Option<u64>,
    /// The first Wrapper's `<VASTAdTagURI>`, trimmed.
    pub ad_tag_uri: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum VastKind {
    InLine,
    Wrapper,
}

/// Why a document is not usable VAST. Messages can go to an API user as they are.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VastError {
    #[error("VAST document is {size} bytes; at most {max} are allowed", max = MAX_BYTES)]
    TooLarge { size: usize },
    #[error("not well-formed XML: {0}")]
    NotWellFormed(String),
    #[error("DOCTYPE declares entities, which are not allowed")]
    EntityDeclaration,
    #[error("root element is <{0}>, not <VAST>")]
    WrongRoot(String),
    #[error("missing version attribute")]
    MissingVersion,
    #[error("unsupported VAST version {0}")]
    UnsupportedVersion(String),
    #[error("VAST has no <Ad>")]
    NoAd,
    #[error("<Ad> has neither <InLine> nor <Wrapper>")]
    EmptyAd,
    #[error("InLine ad has no <MediaFile>")]
    NoMediaFile,
    #[error("Wrapper ad has no <VASTAdTagURI>")]
    NoAdTagUri,
    #[error("invalid <Duration> \"{0}\": expected HH:MM:SS or HH:MM:SS.mmm")]
    InvalidDuration(String),
}

/// Checks `xml` and describes it.
pub fn parse(xml: &[u8]) -> Result<VastInfo, VastError> {
    Outline::read(xml)?.info()
}

/// Whether the root element of a document's first bytes is `<VAST>` (any namespace prefix). For sniffing:
/// `head` may stop anywhere after the root's start tag.
pub fn looks_like_vast(head: &[u8]) -> bool {
    let mut reader = Reader::from_reader(head.strip_prefix(UTF8_BOM).unwrap_or(head));
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => return e.local_name().as_ref() == b"VAST",
            Ok(Event::Text(t)) if t.iter().all(u8::is_ascii_whitespace) => {}
            Ok(Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_)) => {}
            _ => return false,
        }
    }
}

/// Returns a copy of `xml` with one `<Impression>` (CDATA) added to every InLine/Wrapper, and one `<ClickTracking>`
/// (CDATA) added to every `<Linear>`'s `<VideoClicks>` (created inside `<Linear>` when absent). Each goes where the
/// document's version's schema puts it; everything else is byte-for-byte unchanged. The document must pass
/// [`parse`].
pub fn inject_tracking(
    xml: &[u8],
    impression_url: &str,
    click_tracking_url: &str,
) -> Result<Vec<u8>, VastError> {
    let outline = Outline::read(xml)?;
    let info = outline.info()?;
    let order = if info.version.starts_with('4') {
        &V4
    } else {
        &V2_V3
    };
    let mut edits = Vec::new();
    for (i, node) in outline.nodes.iter().enumerate() {
        if (node.local == "InLine" || node.local == "Wrapper") && outline.parent_is(i, "Ad") {
            let at = outline.after_children(i, order.before_impression);
            edits.push(Edit::insert(
                at,
                element(&node.prefix, "Impression", &cdata(impression_url)),
            ));
        } else if node.local == "Linear" && outline.parent_is(i, "Creative") {
            edits.push(outline.click_edit(i, order, &cdata(click_tracking_url)));
        }
    }
    Ok(outline.apply(edits))
}

/// Where elements go, by schema: the siblings that come before the one added.
struct Order {
    before_impression: &'static [&'static str],
    before_click_tracking: &'static [&'static str],
    before_video_clicks: &'static [&'static str],
}

/// VAST 2.0 and 3.0 schemas (InLine and Wrapper siblings together; each only has its own).
const V2_V3: Order = Order {
    before_impression: &[
        "AdSystem",
        "AdTitle",
        "Description",
        "Advertiser",
        "Pricing",
        "Survey",
        "Error",
        "VASTAdTagURI",
        "Impression",
    ],
    before_click_tracking: &["ClickThrough", "ClickTracking"],
    before_video_clicks: &["Icons", "Duration", "TrackingEvents", "AdParameters"],
};

/// VAST 4.x schemas, whose sequences run in a different order (ClickTracking before ClickThrough, VideoClicks last).
const V4: Order = Order {
    before_impression: &["AdSystem", "Error", "Extensions", "Impression"],
    before_click_tracking: &["ClickTracking"],
    before_video_clicks: &[
        "Icons",
        "TrackingEvents",
        "AdParameters",
        "Duration",
        "MediaFiles",
    ],
};

/// One element of the document, with the byte offsets needed to add text around it.
#[derive(Debug)]
struct Node {
    local: String,
    /// Namespace prefix with its colon (`"v:"`), or empty: added elements take their parent's.
    prefix: String,
    qname: String,
    parent: Option<usize>,
    start: usize,
    /// End of the start tag (`>`), where content begins.
    open_end: usize,
    /// End of the end tag (or of the empty tag).
    end: usize,
    empty: bool,
    /// Character data, kept only for the elements whose text we read.
    text: String,
}

/// The document as a flat list of elements in document order (a node's descendants follow it).
struct Outline<'a> {
    /// The document without its byte-order mark; offsets count from here.
    body: &'a [u8],
    bom: &'a [u8],
    nodes: Vec<Node>,
    version: Option<String>,
}

struct Edit {
    at: usize,
    /// Bytes from `at` to here are replaced (an empty tag opened up); equal to `at` for a plain insertion.
    to: usize,
    text: Vec<u8>,
}

impl Edit {
    fn insert(at: usize, text: String) -> Edit {
        Edit {
            at,
            to: at,
            text: text.into_bytes(),
        }
    }
}

impl<'a> Outline<'a> {
    fn read(xml: &'a [u8]) -> Result<Outline<'a>, VastError> {
        if xml.len() > MAX_BYTES {
            return Err(VastError::TooLarge { size: xml.len() });
        }
        if xml.starts_with(b"\xFF\xFE") || xml.starts_with(b"\xFE\xFF") {
            return Err(VastError::NotWellFormed(
                "UTF-16 is not supported; send UTF-8".into(),
            ));
        }
        let body = xml.strip_prefix(UTF8_BOM).unwrap_or(xml);
        let mut outline = Outline {
            body,
            bom: &xml[..xml.len() - body.len()],
            nodes: Vec::new(),
            version: None,
        };
        outline.walk()?;
        Ok(outline)
    }

    fn walk(&mut self) -> Result<(), VastError> {
        let mut reader = Reader::from_reader(self.body);
        let mut stack: Vec<usize> = Vec::new();
        loop {
            let start = position(&reader);
            let event = reader.read_event().map_err(|e| ill_formed(&e, &reader))?;
            let end = position(&reader);
            match event {
                Event::Start(_) | Event::Empty(_) if stack.is_empty() && !self.nodes.is_empty() => {
                    return Err(VastError::NotWellFormed(format!(
                        "a second root element at byte {start}"
                    )));
                }
                Event::Start(e) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(VastError::NotWellFormed(format!(
                            "elements nest deeper than {MAX_DEPTH}"
                        )));
                    }
                    stack.push(self.push_node(&e, stack.last().copied(), start, end, false)?);
                }
                Event::Empty(e) => {
                    self.push_node(&e, stack.last().copied(), start, end, true)?;
                }
                Event::End(_) => {
                    if let Some(i) = stack.pop() {
                        self.nodes[i].end = end;
                    }
                }
                Event::Text(t) => {
                    let text = t.unescape().map_err(|e| ill_formed(&e, &reader))?;
                    self.add_text(stack.last().copied(), &text, start)?;
                }
                Event::CData(c) => {
                    let text = std::str::from_utf8(&c).map_err(|_| {
                        VastError::NotWellFormed(format!("invalid UTF-8 in CDATA at byte {start}"))
                    })?;
                    self.add_text(stack.last().copied(), text, start)?;
                }
                // Without entity declarations, no expansion can grow the document (billion laughs) and no
                // external entity can be referenced.
                Event::DocType(d) if d.windows(8).any(|w| w.eq_ignore_ascii_case(b"<!ENTITY")) => {
                    return Err(VastError::EntityDeclaration);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        match (stack.last(), self.nodes.is_empty()) {
            (Some(&i), _) => Err(VastError::NotWellFormed(format!(
                "<{}> is not closed",
                self.nodes[i].qname
            ))),
            (None, true) => Err(VastError::NotWellFormed("no root element".into())),
            (None, false) => Ok(()),
        }
    }

    fn push_node(
        &mut self,
        e: &quick_xml::events::BytesStart<'_>,
        parent: Option<usize>,
        start: usize,
        end: usize,
        empty: bool,
    ) -> Result<usize, VastError> {
        let qname = utf8(e.name().as_ref(), start)?;
        let local = utf8(e.local_name().as_ref(), start)?;
        let prefix = qname[..qname.len() - local.len()].to_owned();
        for attr in e.attributes() {
            let attr = attr.map_err(|err| {
                VastError::NotWellFormed(format!("{err} in <{qname}> at byte {start}"))
            })?;
            let value = attr
                .unescape_value()
                .map_err(|err| VastError::NotWellFormed(err.to_string()))?;
            if self.nodes.is_empty() && attr.key.as_ref() == b"version" {
                self.version = Some(value.trim().to_owned());
            }
        }
        self.nodes.push(Node {
            local,
            prefix,
            qname,
            parent,
            start,
            open_end: end,
            end,
            empty,
            text: String::new(),
        });
        Ok(self.nodes.len() - 1)
    }

    fn add_text(&mut self, parent: Option<usize>, text: &str, at: usize) -> Result<(), VastError> {
        match parent {
            None if !text.trim().is_empty() => Err(VastError::NotWellFormed(format!(
                "text outside the root element at byte {at}"
            ))),
            Some(i) if matches!(self.nodes[i].local.as_str(), "Duration" | "VASTAdTagURI") => {
                self.nodes[i].text.push_str(text);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn info(&self) -> Result<VastInfo, VastError> {
        let root = &self.nodes[0];
        if root.local != "VAST" {
            return Err(VastError::WrongRoot(root.qname.clone()));
        }
        let version = self.version.clone().ok_or(VastError::MissingVersion)?;
        if !VERSIONS.contains(&version.as_str()) {
            return Err(VastError::UnsupportedVersion(version));
        }
        let mut ads = Vec::new();
        for ad in self.children(0).filter(|&i| self.nodes[i].local == "Ad") {
            ads.push(self.ad(ad)?);
        }
        let Some(&(kind, _, _)) = ads.first() else {
            return Err(VastError::NoAd);
        };
        let linear = (0..self.nodes.len())
            .find(|&i| self.nodes[i].local == "Linear" && self.parent_is(i, "Creative"));
        let duration = linear.and_then(|l| {
            self.children(l)
                .find(|&i| self.nodes[i].local == "Duration")
        });
        let duration_ms = duration
            .map(|d| parse_duration(&self.nodes[d].text))
            .transpose()?;
        Ok(VastInfo {
            version,
            kind,
            ad_count: ads.len(),
            media_files: ads.iter().map(|(_, media, _)| media).sum(),
            duration_ms,
            ad_tag_uri: ads.iter().find_map(|(_, _, uri)| uri.clone()),
        })
    }

    /// One `<Ad>`: its kind, its media files, its ad tag URI.
    fn ad(&self, ad: usize) -> Result<(VastKind, usize, Option<String>), VastError> {
        let body = self
            .children(ad)
            .find(|&i| matches!(self.nodes[i].local.as_str(), "InLine" | "Wrapper"));
        let body = body.ok_or(VastError::EmptyAd)?;
        if self.nodes[body].local == "InLine" {
            let media = self.descendants(body).filter(|n| n.local == "MediaFile");
            let media = media.filter(|n| {
                n.parent
                    .is_some_and(|p| self.nodes[p].local == "MediaFiles")
            });
            let media = media.count();
            return if media == 0 {
                Err(VastError::NoMediaFile)
            } else {
                Ok((VastKind::InLine, media, None))
            };
        }
        let uri = self
            .children(body)
            .find(|&i| self.nodes[i].local == "VASTAdTagURI");
        let uri = uri
            .map(|i| self.nodes[i].text.trim())
            .filter(|u| !u.is_empty());
        let uri = uri.ok_or(VastError::NoAdTagUri)?;
        Ok((VastKind::Wrapper, 0, Some(uri.to_owned())))
    }

    fn parent_is(&self, i: usize, local: &str) -> bool {
        self.nodes[i]
            .parent
            .is_some_and(|p| self.nodes[p].local == local)
    }

    fn descendants(&self, i: usize) -> impl Iterator<Item = &Node> {
        let end = self.nodes[i].end;
        self.nodes[i + 1..]
            .iter()
            .take_while(move |n| n.start < end)
    }

    fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let end = self.nodes[i].end;
        (i + 1..self.nodes.len())
            .take_while(move |&j| self.nodes[j].start < end)
            .filter(move |&j| self.nodes[j].parent == Some(i))
    }

    /// Just after the last child of `i` named in `before`, else just after `i`'s start tag.
    fn after_children(&self, i: usize, before: &[&str]) -> usize {
        let last = self
            .children(i)
            .filter(|&c| before.contains(&self.nodes[c].local.as_str()))
            .last();
        last.map_or(self.nodes[i].open_end, |c| self.nodes[c].end)
    }

    /// The edit that gives `<Linear>` number `linear` one more `<ClickTracking>`.
    fn click_edit(&self, linear: usize, order: &Order, url: &str) -> Edit {
        let node = &self.nodes[linear];
        let tracking = element(&node.prefix, "ClickTracking", url);
        match self
            .children(linear)
            .find(|&c| self.nodes[c].local == "VideoClicks")
        {
            Some(clicks) if self.nodes[clicks].empty => self.open_up(clicks, &tracking),
            Some(clicks) => Edit::insert(
                self.after_children(clicks, order.before_click_tracking),
                tracking,
            ),
            None => {
                let clicks = element(&node.prefix, "VideoClicks", &tracking);
                if node.empty {
                    self.open_up(linear, &clicks)
                } else {
                    Edit::insert(
                        self.after_children(linear, order.before_video_clicks),
                        clicks,
                    )
                }
            }
        }
    }

    /// Rewrites empty element `i` (`<X a="1"/>`) as `<X a="1">content</X>`, keeping its attributes as written.
    fn open_up(&self, i: usize, content: &str) -> Edit {
        let node = &self.nodes[i];
        let tag = &self.body[node.start..node.end];
        let open = tag.strip_suffix(b"/>").unwrap_or(tag).trim_ascii_end();
        let mut text = open.to_vec();
        text.push(b'>');
        text.extend_from_slice(content.as_bytes());
        text.extend_from_slice(format!("</{}>", node.qname).as_bytes());
        Edit {
            at: node.start,
            to: node.end,
            text,
        }
    }

    fn apply(&self, mut edits: Vec<Edit>) -> Vec<u8> {
        edits.sort_by_key(|e| e.at); // stable: edits at one offset keep document order
        let mut out = Vec::with_capacity(self.bom.len() + self.body.len() + edits.len() * 160);
        out.extend_from_slice(self.bom);
        let mut pos = 0;
        for edit in edits {
            out.extend_from_slice(&self.body[pos..edit.at.max(pos)]);
            out.extend_from_slice(&edit.text);
            pos = edit.to.max(pos);
        }
        out.extend_from_slice(&self.body[pos..]);
        out
    }
}

/// The reader's byte offset, which never exceeds the input length (a `usize`).
fn position(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

fn ill_formed(e: &dyn std::fmt::Display, reader: &Reader<&[u8]>) -> VastError {
    VastError::NotWellFormed(format!("{e} (at byte {})", reader.error_position()))
}

fn utf8(bytes: &[u8], at: usize) -> Result<String, VastError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| VastError::NotWellFormed(format!("invalid UTF-8 at byte {at}")))
}

/// `<{prefix}{name}>{content}</{prefix}{name}>`.
fn element(prefix: &str, name: &str, content: &str) -> String {
    format!("<{prefix}{name}>{content}</{prefix}{name}>")
}

/// A CDATA section holding `text` exactly; a `]]>` inside is split across two sections.
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// `HH:MM:SS` or `HH:MM:SS.mmm` (fractions of any length, read to the millisecond) in milliseconds.
fn parse_duration(text: &str) -> Result<u64, VastError> {
    let invalid = || VastError::InvalidDuration(text.trim().to_owned());
    let mut parts = text.trim().split(':');
    let (Some(h), Some(m), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let (s, fraction) = s.split_once('.').unwrap_or((s, "0"));
    let number = |digits: &str, max: u64| {
        let value = digits.parse::<u64>().ok().filter(|v| *v < max);
        value.filter(|_| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
    };
    let hours = number(h, 1_000_000).ok_or_else(invalid)?;
    let minutes = number(m, 60).filter(|_| m.len() == 2).ok_or_else(invalid)?;
    let seconds = number(s, 60).filter(|_| s.len() == 2).ok_or_else(invalid)?;
    if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let tenths = fraction.bytes().chain(std::iter::repeat(b'0')).take(3);
    let millis = tenths.fold(0, |acc, b| acc * 10 + u64::from(b - b'0'));
    Ok(((hours * 60 + minutes) * 60 + seconds) * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMP: &str = "https://t.example/t/imp?cr=cr_1&cb={CACHEBUSTER}";
    const CLK: &str = "https://t.example/t/clk?cr=cr_1&mb={MEDIA_BUY_ID}";

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/vast/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn info(version: &str, kind: VastKind, ads: usize, media: usize, ms: Option<u64>) -> VastInfo {
        VastInfo {
            version: version.into(),
            kind,
            ad_count: ads,
            media_files: media,
            duration_ms: ms,
            ad_tag_uri: None,
        }
    }

    fn injected(name: &str) -> String {
        String::from_utf8(inject_tracking(&fixture(name), IMP, CLK).unwrap()).unwrap()
    }

    /// `out` is `original` with exactly `added` inserted (in order) and nothing else changed.
    fn only_added(original: &[u8], out: &str, added: &[&str]) {
        let mut rest = out.to_owned();
        for piece in added {
            let at = rest
                .find(piece)
                .unwrap_or_else(|| panic!("{piece} missing in {rest}"));
            rest.replace_range(at..at + piece.len(), "");
        }
        assert_eq!(rest.as_bytes(), original);
    }

    fn impression() -> String {
        format!("<Impression><![CDATA[{IMP}]]></Impression>")
    }

    fn click_tracking() -> String {
        format!("<ClickTracking><![CDATA[{CLK}]]></ClickTracking>")
    }

    #[test]
    fn parses_inline_2_0() {
        let expected = info("2.0", VastKind::InLine, 1, 2, Some(30_000));
        assert_eq!(parse(&fixture("inline_2.0.xml")), Ok(expected));
    }

    #[test]
    fn parses_a_3_0_pod() {
        let expected = info("3.0", VastKind::InLine, 2, 2, Some(10_500));
        assert_eq!(parse(&fixture("inline_3.0_pod.xml")), Ok(expected));
    }

    #[test]
    fn parses_4_2_with_bom_and_namespace() {
        let expected = info("4.2", VastKind::InLine, 1, 3, Some(15_000));
        assert_eq!(
            parse(&fixture("inline_4.2.xml")),
            Ok(expected),
            "a Mezzanine is not a MediaFile"
        );
        let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vast.xml");
        assert_eq!(
            parse(&std::fs::read(shared).unwrap()),
            Ok(info("4.2", VastKind::InLine, 1, 1, Some(15_000)))
        );
    }

    #[test]
    fn parses_prefixed_4_1() {
        let expected = info("4.1", VastKind::InLine, 1, 1, Some(3_723_400));
        assert_eq!(parse(&fixture("prefixed_4.1.xml")), Ok(expected));
    }

    #[test]
    fn parses_a_wrapper() {
        let mut expected = info("4.0", VastKind::Wrapper, 1, 0, None);
        expected.ad_tag_uri = Some("https://ads.example.com/vast?id=42&size=640x360".into());
        assert_eq!(parse(&fixture("wrapper_4.0.xml")), Ok(expected));
        let json = serde_json::to_value(parse(&fixture("wrapper_4.0.xml")).unwrap()).unwrap();
        assert_eq!(json["kind"], "Wrapper");
    }

    #[test]
    fn broken_documents_say_why() {
        let cases = [
            (
                "broken_root.xml",
                "root element is <VideoAdServingTemplate>, not <VAST>",
            ),
            ("broken_no_version.xml", "missing version attribute"),
            ("broken_version_1.0.xml", "unsupported VAST version 1.0"),
            ("broken_no_ad.xml", "VAST has no <Ad>"),
            ("broken_no_mediafile.xml", "InLine ad has no <MediaFile>"),
            (
                "broken_wrapper_no_uri.xml",
                "Wrapper ad has no <VASTAdTagURI>",
            ),
            (
                "broken_entities.xml",
                "DOCTYPE declares entities, which are not allowed",
            ),
            (
                "broken_duration.xml",
                "invalid <Duration> \"15 seconds\": expected HH:MM:SS or HH:MM:SS.mmm",
            ),
            (
                "broken_truncated.xml",
                "not well-formed XML: <Linear> is not closed",
            ),
        ];
        for (name, message) in cases {
            assert_eq!(
                parse(&fixture(name)).unwrap_err().to_string(),
                message,
                "{name}"
            );
            assert_eq!(
                inject_tracking(&fixture(name), IMP, CLK)
                    .unwrap_err()
                    .to_string(),
                message,
                "{name}"
            );
        }
        let mismatched = parse(&fixture("broken_not_xml.xml"))
            .unwrap_err()
            .to_string();
        assert!(
            mismatched.starts_with("not well-formed XML: "),
            "{mismatched}"
        );
    }

    #[test]
    fn other_ill_formed_input_is_refused() {
        for bad in [
            &b""[..],
            b"   ",
            b"<VAST version=\"3.0\"></VAST><VAST/>",
            b"<VAST version=\"3.0\"></VAST>trailing",
            b"<VAST version=\"3.0\" version=\"2.0\"/>",
            b"<VAST version=\"3.0\"><Ad>&custom;</Ad></VAST>",
            b"\xFF\xFE<\0V\0",
            b"<VAST version=\"3.0\"><Ad>\xC3\x28</Ad></VAST>",
        ] {
            assert!(
                matches!(parse(bad), Err(VastError::NotWellFormed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = format!("<VAST version=\"3.0\">{}", "<a>".repeat(MAX_DEPTH + 1));
        assert!(
            matches!(parse(deep.as_bytes()), Err(VastError::NotWellFormed(m)) if m.contains("deeper"))
        );
    }

    #[test]
    fn oversized_documents_are_refused_unread() {
        let big = vec![b' '; MAX_BYTES + 1];
        assert_eq!(
            parse(&big),
            Err(VastError::TooLarge {
                size: MAX_BYTES + 1
            })
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("00:00:15"), Ok(15_000));
        assert_eq!(parse_duration(" 00:00:15.5 "), Ok(15_500));
        assert_eq!(parse_duration("00:00:15.1239"), Ok(15_123));
        assert_eq!(parse_duration("1:02:03.004"), Ok(3_723_004));
        for bad in [
            "",
            "15",
            "00:15",
            "00:60:00",
            "00:00:60",
            "00:00:15.",
            "00:00:1é",
            "00:00:15.é",
            "-1:00:00",
            "0:0:5",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sniffs_the_root() {
        for name in [
            "inline_2.0.xml",
            "inline_3.0_pod.xml",
            "inline_4.2.xml",
            "prefixed_4.1.xml",
            "broken_no_ad.xml",
        ] {
            assert!(looks_like_vast(&fixture(name)), "{name}");
        }
        assert!(
            looks_like_vast(&fixture("inline_4.2.xml")[..120]),
            "a head cut after the root's start tag"
        );
        for not in [
            &b"<VideoAdServingTemplate/>"[..],
            b"<!doctype html><html></html>",
            b"<svg/>",
            b"",
            b"VAST",
            b"\x00\x01",
        ] {
            assert!(!looks_like_vast(not), "{:?}", String::from_utf8_lossy(not));
        }
    }

    #[test]
    fn injects_2_0_next_to_existing_trackers() {
        let out = injected("inline_2.0.xml");
        assert!(out.contains(&format!("</Impression>{}", impression())));
        assert!(
            out.contains(&format!("</ClickThrough>{}", click_tracking())),
            "2.0 puts ClickTracking after ClickThrough"
        );
        only_added(
            &fixture("inline_2.0.xml"),
            &out,
            &[&impression(), &click_tracking()],
        );
    }

    #[test]
    fn injects_3_0_creating_video_clicks_before_media_files() {
        let out = injected("inline_3.0_pod.xml");
        let created = format!("<VideoClicks>{}</VideoClicks>", click_tracking());
        assert!(
            out.contains(&format!(
                "</AdParameters>{created}\n            <MediaFiles>"
            )),
            "{out}"
        );
        let opened = format!("00:00:06</Duration>\n            {created}\n");
        assert!(
            out.contains(&opened),
            "the empty <VideoClicks/> is opened up: {out}"
        );
        assert_eq!(out.matches(&impression()).count(), 2, "one per ad");
        assert_eq!(out.matches(&click_tracking()).count(), 2);
        assert_eq!(
            out.matches("<VideoClicks/>").count(),
            1,
            "left only in the fixture's comment"
        );
        let parsed = parse(out.as_bytes()).unwrap();
        assert_eq!(parsed, parse(&fixture("inline_3.0_pod.xml")).unwrap());
    }

    #[test]
    fn injects_4_2_in_schema_order_keeping_the_bom() {
        let out = inject_tracking(&fixture("inline_4.2.xml"), IMP, CLK).unwrap();
        assert!(out.starts_with(UTF8_BOM));
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.contains(&format!("[CACHEBUSTING]]]></Impression>{}", impression())));
        assert!(
            text.contains(&format!("</ClickTracking>{}\n", click_tracking())),
            "4.x puts ClickTracking first"
        );
        only_added(
            &fixture("inline_4.2.xml"),
            text,
            &[&impression(), &click_tracking()],
        );
    }

    #[test]
    fn injects_a_wrapper() {
        let out = injected("wrapper_4.0.xml");
        let created = format!(
            "</TrackingEvents><VideoClicks>{}</VideoClicks>",
            click_tracking()
        );
        assert!(out.contains(&created), "{out}");
        assert!(out.contains(&format!("/imp]]></Impression>{}", impression())));
        assert_eq!(
            parse(out.as_bytes()).unwrap().ad_tag_uri.as_deref(),
            Some("https://ads.example.com/vast?id=42&size=640x360")
        );
    }

    #[test]
    fn injected_elements_take_the_namespace_prefix() {
        let out = injected("prefixed_4.1.xml");
        assert!(out.contains(&format!(
            "/i</v:Impression><v:Impression><![CDATA[{IMP}]]></v:Impression>"
        )));
        let created = format!("</v:MediaFiles><v:VideoClicks><v:ClickTracking><![CDATA[{CLK}]]></v:ClickTracking></v:VideoClicks>");
        assert!(out.contains(&created), "{out}");
    }

    #[test]
    fn urls_are_kept_exactly_in_cdata() {
        let odd = "https://t.example/x?a=1&b=]]>&c=<d>";
        let out = inject_tracking(&fixture("inline_2.0.xml"), odd, CLK).unwrap();
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.contains("<![CDATA[https://t.example/x?a=1&b=]]]]><![CDATA[>&c=<d>]]>"));
        assert!(parse(&out).is_ok());
        assert_eq!(cdata("a]]>b"), "<![CDATA[a]]]]><![CDATA[>b]]>");
    }

    #[test]
    fn linear_as_an_empty_tag_is_opened_up() {
        let xml = br#"<VAST version="3.0"><Ad><Wrapper><AdSystem>x</AdSystem><VASTAdTagURI>https://a.example/v</VASTAdTagURI><Creatives><Creative><Linear skipoffset="5%" /></Creative></Creatives></Wrapper></Ad></VAST>"#;
        let out = String::from_utf8(inject_tracking(xml, IMP, CLK).unwrap()).unwrap();
        let expected = format!(
            r#"<Linear skipoffset="5%"><VideoClicks>{}</VideoClicks></Linear>"#,
            click_tracking()
        );
        assert!(out.contains(&expected), "{out}");
        assert!(
            out.contains(&format!("</VASTAdTagURI>{}<Creatives>", impression())),
            "no Impression yet: after the URI"
        );
    }

    /// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 96) as u8 + if x.is_multiple_of(5) { 0 } else { 32 }
            })
            .collect()
    }

    #[test]
    fn garbage_never_panics() {
        let good = fixture("inline_4.2.xml");
        for len in 0..good.len() {
            let _ = inject_tracking(&good[..len], IMP, CLK);
            let _ = looks_like_vast(&good[..len]);
        }
        for seed in 0..200 {
            let mut bytes = good.clone();
            let junk = noise(seed, 8);
            let at = (seed as usize * 131) % bytes.len();
            bytes.splice(at..at, junk);
            let _ = inject_tracking(&bytes, IMP, CLK);
            let _ = parse(&noise(seed, 300));
        }
    }
}
