//! Reads real properties (pixel size, duration) of a stored upload whose content type was decided
//! by [`classify`](crate::manifest::media::classify::classify).
//!
//! Blocking I/O on the given path only; call it from a blocking context. Each format is read by
//! the crate that knows it (`imagesize`, `quick-xml`, `mp4`, `matroska`, `symphonia`) through a
//! `File`/`BufReader`, so memory does not grow with the file's size. Hand-written, bounded
//! walkers back up the `mp4` crate (QuickTime files it rejects) and guard the `matroska` crate
//! (which allocates whatever an element's size field says, so a hostile size could abort the
//! process): a WebM file is only handed to it once every element it will read has been checked
//! to fit inside its parent and the file.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::manifest::media::classify::canonical_mime;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Properties {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    pub warnings: Vec<String>,
}

/// Most of an SVG file read to find its root element.
const SVG_READ_LIMIT: u64 = 1024 * 1024;

/// Read real properties of the file at `path` whose content type was decided by classify().
/// Never panics; a file that can't be read as its type yields a warning ("could not read video
/// duration: ...") and None fields, never an Err.
pub fn probe(path: &std::path::Path, content_type: &str) -> Properties {
    let mime = canonical_mime(content_type);
    let mut props = Properties::default();
    let (what, run): (&str, fn(&Path, &str, &mut Properties)) = match mime.as_str() {
        "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/heic" | "image/heif"
        | "image/avif" => ("image size", probe_raster),
        "image/svg+xml" => ("SVG size", probe_svg),
        "video/mp4" | "video/quicktime" => ("video properties", probe_mp4),
        "video/webm" | "video/x-matroska" => ("video properties", probe_webm),
        "audio/mpeg" | "audio/wav" | "audio/ogg" => ("audio duration", probe_audio),
        _ => return props,
    };
    // The parsers are third-party code fed untrusted files: a panic in one becomes a warning.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut p = Properties::default();
        run(path, &mime, &mut p);
        p
    }));
    match outcome {
        Ok(p) => props = p,
        Err(_) => props
            .warnings
            .push(format!("could not read {what}: the file is malformed")),
    }
    props
}

fn open(path: &Path) -> io::Result<(File, u64)> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    Ok((file, len))
}

fn positive_u32(v: u64) -> Option<u32> {
    u32::try_from(v).ok().filter(|&v| v > 0)
}

/// A reader that fails once it has done far more I/O than parsing a file of its size can need,
/// so that a third-party parser looping on a malformed file (the mp4 crate re-reads a box of size
/// 0 forever) ends with an error instead of spinning.
struct Budget<R> {
    inner: R,
    len: u64,
    bytes_left: u64,
    ops_left: u64,
}

impl<R> Budget<R> {
    fn new(inner: R, len: u64) -> Budget<R> {
        Budget {
            inner,
            len,
            bytes_left: len.saturating_mul(4).saturating_add(4 << 20),
            ops_left: len / 4 + 100_000,
        }
    }

    fn spend(&mut self, bytes: u64) -> io::Result<()> {
        self.ops_left = self.ops_left.saturating_sub(1);
        self.bytes_left = self.bytes_left.saturating_sub(bytes);
        if self.ops_left == 0 || self.bytes_left == 0 {
            return Err(io::Error::other("parser read far more than the file holds"));
        }
        Ok(())
    }
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.spend(0)?;
        let n = self.inner.read(buf)?;
        self.spend(n as u64)?;
        Ok(n)
    }
}

impl<R: Seek> Seek for Budget<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.spend(0)?;
        self.inner.seek(pos)
    }
}

impl symphonia::core::io::MediaSource for Budget<File> {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

/// A buffered, budgeted reader over the whole file for a third-party parser.
fn budgeted(file: &File, len: u64) -> io::Result<BufReader<Budget<&File>>> {
    let mut f = file;
    f.seek(SeekFrom::Start(0))?;
    Ok(BufReader::with_capacity(4096, Budget::new(f, len)))
}

// ---------------------------------------------------------------------------------------------
// Raster images.

fn probe_raster(path: &Path, _mime: &str, p: &mut Properties) {
    // `reader_size` seeks over what it does not need (e.g. a large EXIF block before a JPEG's
    // SOF), reading only headers.
    let size = open(path)
        .and_then(|(f, len)| Ok(imagesize::reader_size(budgeted(&f, len)?)))
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    match size {
        Ok(s) => {
            p.width = positive_u32(s.width as u64);
            p.height = positive_u32(s.height as u64);
            if p.width.is_none() || p.height.is_none() {
                p.warnings.push(format!(
                    "could not read image size: {}x{}",
                    s.width, s.height
                ));
            }
        }
        Err(e) => p.warnings.push(format!("could not read image size: {e}")),
    }
}

// ---------------------------------------------------------------------------------------------
// SVG.

fn probe_svg(path: &Path, _mime: &str, p: &mut Properties) {
    match svg_root_size(path) {
        Ok((w, h)) => {
            p.width = w;
            p.height = h;
            if w.is_none() || h.is_none() {
                p.warnings.push(
                    "could not read SVG size: no pixel width/height or viewBox on <svg>"
                        .to_string(),
                );
            }
        }
        Err(e) => p.warnings.push(format!("could not read SVG size: {e}")),
    }
}

type Size = (Option<u32>, Option<u32>);

/// Why an SVG is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SvgRefusal {
    /// Entities can expand without bound (billion laughs) or pull in local files (`SYSTEM
    /// "file:///etc/passwd"`) in whatever XML parser a seller or publisher feeds the file to.
    #[error("its DOCTYPE declares entities, which are not allowed")]
    EntityDeclaration,
    /// An external DTD (`<!DOCTYPE svg SYSTEM "...">`) makes parsers that load it fetch or read
    /// another file. The public SVG DTD (`PUBLIC "-//W3C//DTD SVG ..."`) is fine.
    #[error("its DOCTYPE references an external DTD by SYSTEM identifier, which is not allowed")]
    ExternalDtd,
}

/// Checks an SVG file for what an XML parser could be made to expand or fetch, as VAST uploads are
/// checked: a DOCTYPE declaring entities or naming a SYSTEM DTD. Bytes are scanned as well as
/// parsed, so a document quick-xml reads differently from another parser is judged by its bytes.
pub fn check_svg(path: &Path) -> io::Result<Result<(), SvgRefusal>> {
    use quick_xml::events::Event;

    const NEEDLE: &[u8] = b"<!entity";
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        carry.extend(buf[..n].iter().map(u8::to_ascii_lowercase));
        if memchr::memmem::find(&carry, NEEDLE).is_some() {
            return Ok(Err(SvgRefusal::EntityDeclaration));
        }
        let keep = carry.len().saturating_sub(NEEDLE.len() - 1);
        carry.drain(..keep);
    }
    let file = File::open(path)?;
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(file));
    let mut ev = Vec::new();
    loop {
        match reader.read_event_into(&mut ev) {
            Ok(Event::DocType(d)) => {
                let d = d.to_ascii_uppercase();
                if d.windows(8).any(|w| w == b"<!ENTITY") {
                    return Ok(Err(SvgRefusal::EntityDeclaration));
                }
                // `name SYSTEM "uri"`: the keyword stands alone after the root name.
                if d.split(|b| b.is_ascii_whitespace()).any(|w| w == b"SYSTEM") {
                    return Ok(Err(SvgRefusal::ExternalDtd));
                }
            }
            // The DOCTYPE comes before the root element or not at all.
            Ok(Event::Start(_) | Event::Empty(_) | Event::Eof) | Err(_) => return Ok(Ok(())),
            Ok(_) => {}
        }
        ev.clear();
    }
}

fn svg_root_size(path: &Path) -> Result<Size, String> {
    use quick_xml::events::Event;

    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(file.take(SVG_READ_LIMIT)));
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                if e.local_name().as_ref() != b"svg" {
                    return Err("root element is not <svg>".to_string());
                }
                let (mut width, mut height, mut view_box) = (None, None, None);
                for attr in e.attributes().flatten() {
                    let value = String::from_utf8_lossy(&attr.value);
                    match attr.key.local_name().as_ref() {
                        b"width" => width = svg_length(&value),
                        b"height" => height = svg_length(&value),
                        b"viewBox" => view_box = svg_view_box(&value),
                        _ => {}
                    }
                }
                return Ok(svg_size(width, height, view_box));
            }
            Ok(Event::Eof) => return Err("no root element".to_string()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
        buf.clear();
    }
}

/// A width/height attribute in pixels (unitless or `px`); other units are ignored.
fn svg_length(value: &str) -> Option<f64> {
    let v = value.trim();
    let v = v.strip_suffix("px").unwrap_or(v).trim_end();
    v.parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0)
}

/// Width and height of a `viewBox="min-x min-y width height"`.
fn svg_view_box(value: &str) -> Option<(f64, f64)> {
    let nums: Vec<f64> = value
        .split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .take(5)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    match nums[..] {
        [_, _, w, h] if w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0 => Some((w, h)),
        _ => None,
    }
}

fn svg_size(width: Option<f64>, height: Option<f64>, view_box: Option<(f64, f64)>) -> Size {
    let (w, h) = match (width, height, view_box) {
        (Some(w), Some(h), _) => (Some(w), Some(h)),
        // One side given: the other follows the viewBox's aspect ratio.
        (Some(w), None, Some((vw, vh))) => (Some(w), Some(w * vh / vw)),
        (None, Some(h), Some((vw, vh))) => (Some(h * vw / vh), Some(h)),
        (w, h, Some((vw, vh))) => (w.or(Some(vw)), h.or(Some(vh))),
        (w, h, None) => (w, h),
    };
    let px = |v: Option<f64>| {
        v.map(f64::round)
            .filter(|v| v.is_finite() && *v >= 1.0 && *v <= u32::MAX as f64)
            .map(|v| v as u32)
    };
    (px(w), px(h))
}

// ---------------------------------------------------------------------------------------------
// MP4 / QuickTime.

fn probe_mp4(path: &Path, _mime: &str, p: &mut Properties) {
    let (file, len) = match open(path) {
        Ok(f) => f,
        Err(e) => {
            p.warnings
                .push(format!("could not read video properties: {e}"));
            return;
        }
    };
    let via_crate = catch_unwind(AssertUnwindSafe(|| {
        let reader = budgeted(&file, len)?;
        mp4::Mp4Reader::read_header(reader, len).map(|r| mp4_crate_props(&r))
    }));
    let crate_err = match via_crate {
        Ok(Ok((duration, size))) => {
            p.duration_ms = duration;
            if let Some((w, h)) = size {
                (p.width, p.height) = (Some(w), Some(h));
            }
            None
        }
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("the file is malformed".to_string()),
    };
    let mut walk_err = None;
    if p.duration_ms.is_none() || p.width.is_none() {
        // QuickTime files the crate rejects, or fields it could not find.
        match mov_walk(&mut BufReader::new(&file), len) {
            Ok(found) => {
                p.duration_ms = p.duration_ms.or(found.duration_ms);
                if p.width.is_none() {
                    if let Some((w, h)) = found.size {
                        (p.width, p.height) = (Some(w), Some(h));
                    }
                }
            }
            Err(e) => walk_err = Some(e),
        }
    }
    let why = crate_err
        .or(walk_err)
        .unwrap_or_else(|| "not present in the file".to_string());
    if p.duration_ms.is_none() {
        p.warnings
            .push(format!("could not read video duration: {why}"));
    }
    if p.width.is_none() {
        p.warnings.push(format!("could not read video size: {why}"));
    }
}

fn ms_from(duration: u64, timescale: u64) -> Option<u64> {
    if timescale == 0 || duration == 0 || duration == u64::MAX || duration == u32::MAX as u64 {
        return None; // unknown
    }
    u64::try_from(duration as u128 * 1000 / timescale as u128).ok()
}

type VideoProps = (Option<u64>, Option<(u32, u32)>);

fn mp4_crate_props<R: Read + Seek>(r: &mp4::Mp4Reader<R>) -> VideoProps {
    let mut tracks: Vec<_> = r.tracks().values().collect();
    tracks.sort_by_key(|t| t.track_id());
    let mvhd = &r.moov.mvhd;
    let fragment_duration = r.moov.mvex.as_ref().and_then(|m| m.mehd.as_ref());
    let duration = ms_from(mvhd.duration, mvhd.timescale as u64)
        .or_else(|| {
            fragment_duration.and_then(|m| ms_from(m.fragment_duration, mvhd.timescale as u64))
        })
        .or_else(|| {
            tracks
                .iter()
                .filter_map(|t| {
                    let mdhd = &t.trak.mdia.mdhd;
                    ms_from(mdhd.duration, mdhd.timescale as u64)
                })
                .max()
        })
        .or_else(|| tracks.iter().filter_map(|t| fragmented_ms(t)).max());
    let size = tracks
        .iter()
        .filter(|t| matches!(t.track_type(), Ok(mp4::TrackType::Video)))
        .find_map(|t| {
            Some((
                positive_u32(t.width() as u64)?,
                positive_u32(t.height() as u64)?,
            ))
        });
    (duration, size)
}

/// Duration of a fragmented track: the sample durations of its fragments added up.
fn fragmented_ms(t: &mp4::Mp4Track) -> Option<u64> {
    let total = t.trafs.iter().fold(0u64, |acc, traf| {
        let run = match &traf.trun {
            Some(trun) if !trun.sample_durations.is_empty() => {
                trun.sample_durations.iter().map(|&d| d as u64).sum()
            }
            Some(trun) => {
                let each = traf
                    .tfhd
                    .default_sample_duration
                    .unwrap_or(t.default_sample_duration);
                trun.sample_count as u64 * each as u64
            }
            None => 0,
        };
        acc.saturating_add(run)
    });
    ms_from(total, t.trak.mdia.mdhd.timescale as u64)
}

#[derive(Debug, Default, PartialEq)]
struct MovInfo {
    duration_ms: Option<u64>,
    size: Option<(u32, u32)>,
}

/// Boxes looked at in one container, at most.
const MAX_BOXES: usize = 4096;

/// Child boxes of the region `start..end`: (type, payload start, end). Only box headers are
/// read; a box that claims to run past `end` is cut at `end` and ends the list.
fn mov_boxes<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
) -> io::Result<Vec<([u8; 4], u64, u64)>> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos.saturating_add(8) <= end && out.len() < MAX_BOXES {
        let mut h = [0u8; 8];
        read_at(r, pos, &mut h)?;
        let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
        let kind = [h[4], h[5], h[6], h[7]];
        let (size, header) = match size32 {
            0 => (end - pos, 8),
            1 => {
                let mut large = [0u8; 8];
                read_at(r, pos + 8, &mut large)?;
                (u64::from_be_bytes(large), 16)
            }
            n => (n, 8),
        };
        if size < header {
            break;
        }
        let box_end = pos.saturating_add(size);
        if box_end > end {
            out.push((kind, pos + header, end));
            break;
        }
        out.push((kind, pos + header, box_end));
        pos = box_end;
    }
    Ok(out)
}

/// Reads up to `buf.len()` bytes at `pos`; fewer if the file ends. Returns the count.
fn read_at<R: Read + Seek>(r: &mut R, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
    r.seek(SeekFrom::Start(pos))?;
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    if n == 0 && !buf.is_empty() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(n)
}

fn be32(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as u64)
}

fn be64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        u64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])
    })
}

/// Duration in ms from an `mvhd` or `mdhd` payload (same layout up to the duration).
fn header_duration<R: Read + Seek>(r: &mut R, start: u64, end: u64) -> io::Result<Option<u64>> {
    let mut b = [0u8; 32];
    let n = read_at(r, start, &mut b)?.min((end - start) as usize);
    let b = &b[..n];
    Ok(match b.first() {
        Some(1) => ms_from(be64(b, 24), be32(b, 20)),
        Some(_) => ms_from(be32(b, 16), be32(b, 12)),
        None => None,
    })
}

/// A small ISO-BMFF/QuickTime walker: moov/mvhd for the duration, moov/trak/tkhd of the first
/// video track (mdia/hdlr handler `vide`) for the size.
fn mov_walk<R: Read + Seek>(r: &mut R, len: u64) -> Result<MovInfo, String> {
    let io = |e: io::Error| e.to_string();
    let top = mov_boxes(r, 0, len).map_err(io)?;
    let &(_, moov_start, moov_end) = top.iter().find(|b| &b.0 == b"moov").ok_or("no moov box")?;
    let mut info = MovInfo::default();
    let mut track_duration = None;
    for (kind, start, end) in mov_boxes(r, moov_start, moov_end).map_err(io)? {
        if &kind == b"mvhd" {
            info.duration_ms = header_duration(r, start, end).map_err(io)?;
        } else if &kind == b"trak" {
            let mut size = None;
            let mut video = false;
            for (kind, start, end) in mov_boxes(r, start, end).map_err(io)? {
                if &kind == b"tkhd" {
                    let mut b = [0u8; 96];
                    let n = read_at(r, start, &mut b)
                        .map_err(io)?
                        .min((end - start) as usize);
                    let at = if b[0] == 1 { 88 } else { 76 };
                    let (w, h) = (be32(&b[..n], at) >> 16, be32(&b[..n], at + 4) >> 16);
                    size = positive_u32(w).zip(positive_u32(h));
                } else if &kind == b"mdia" {
                    for (kind, start, end) in mov_boxes(r, start, end).map_err(io)? {
                        if &kind == b"hdlr" {
                            let mut b = [0u8; 12];
                            let n = read_at(r, start, &mut b).map_err(io)?;
                            video |= n == 12 && &b[8..12] == b"vide";
                        } else if &kind == b"mdhd" {
                            let d = header_duration(r, start, end).map_err(io)?;
                            track_duration = track_duration.max(d);
                        }
                    }
                }
            }
            if video && info.size.is_none() {
                info.size = size;
            }
        }
    }
    info.duration_ms = info.duration_ms.or(track_duration);
    Ok(info)
}

// ---------------------------------------------------------------------------------------------
// WebM.

fn probe_webm(path: &Path, _mime: &str, p: &mut Properties) {
    let (file, len) = match open(path) {
        Ok(f) => f,
        Err(e) => {
            p.warnings
                .push(format!("could not read video properties: {e}"));
            return;
        }
    };
    let scan = match ebml_scan(&mut BufReader::new(&file), len) {
        Ok(scan) => scan,
        Err(e) => {
            p.warnings.push(format!(
                "could not read video properties: malformed WebM: {e}"
            ));
            return;
        }
    };
    // Safe to hand to the crate now: every element it reads fits in the file.
    let via_crate = catch_unwind(AssertUnwindSafe(|| {
        let reader = budgeted(&file, len)?;
        matroska::Matroska::open(reader).map_err(|e| io::Error::other(e.to_string()))
    }));
    if let Ok(Ok(m)) = via_crate {
        p.duration_ms = m
            .info
            .duration
            .and_then(|d| u64::try_from(d.as_millis()).ok())
            .filter(|&d| d > 0);
        let size = m.tracks.iter().find_map(|t| match &t.settings {
            matroska::Settings::Video(v) => {
                Some((positive_u32(v.pixel_width)?, positive_u32(v.pixel_height)?))
            }
            _ => None,
        });
        if let Some((w, h)) = size {
            (p.width, p.height) = (Some(w), Some(h));
        }
    }
    // What the crate did not give (e.g. it stops at a live stream's unknown-size cluster).
    p.duration_ms = p.duration_ms.or(scan.duration_ms);
    if p.width.is_none() {
        if let Some((w, h)) = scan.size {
            (p.width, p.height) = (Some(w), Some(h));
        }
    }
    if p.duration_ms.is_none() {
        p.warnings
            .push("could not read video duration: not present in the file".to_string());
    }
    if p.width.is_none() {
        p.warnings
            .push("could not read video size: no video track with a pixel size".to_string());
    }
}

mod ebml_id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const SEEKHEAD: u32 = 0x114D_9B74;
    pub const SEEK: u32 = 0x4DBB;
    pub const SEEKID: u32 = 0x53AB;
    pub const SEEKPOSITION: u32 = 0x53AC;
    pub const INFO: u32 = 0x1549_A966;
    pub const TIMECODESCALE: u32 = 0x2A_D7B1;
    pub const DURATION: u32 = 0x4489;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const TRACKENTRY: u32 = 0xAE;
    pub const VIDEO: u32 = 0xE0;
    pub const PIXELWIDTH: u32 = 0xB0;
    pub const PIXELHEIGHT: u32 = 0xBA;
    pub const ATTACHMENTS: u32 = 0x1941_A469;
    pub const CHAPTERS: u32 = 0x1043_A770;
    pub const TAGS: u32 = 0x1254_C367;
    pub const CLUSTER: u32 = 0x1F43_B675;
    /// Level-1 elements the matroska crate parses (reading their children into memory).
    pub const PARSED: [u32; 6] = [SEEKHEAD, INFO, TRACKS, ATTACHMENTS, CHAPTERS, TAGS];
    /// Every id the matroska crate may treat as a master element (its default master set).
    pub const MASTERS: [u32; 47] = [
        0x80,
        0x8E,
        0x8F,
        0xA0,
        0xA6,
        0xAE,
        0xB6,
        0xB7,
        0xBB,
        0xC8,
        0xDB,
        0xE0,
        0xE1,
        0xE2,
        0xE3,
        0xE4,
        0xE8,
        0xE9,
        0x45B9,
        0x4DBB,
        0x5034,
        0x5035,
        0x55B0,
        0x55D0,
        0x5854,
        0x61A7,
        0x6240,
        0x63C0,
        0x6624,
        0x67C8,
        0x6911,
        0x6924,
        0x6944,
        0x6D80,
        0x7373,
        0x75A1,
        0x7E5B,
        0x7E7B,
        0x1043_A770,
        0x114D_9B74,
        0x1254_C367,
        0x1549_A966,
        0x1654_AE6B,
        0x1853_8067,
        0x1941_A469,
        0x1A45_DFA3,
        0x1B53_8667,
    ];
}

#[derive(Debug, Default, PartialEq)]
struct WebmInfo {
    duration_ms: Option<u64>,
    size: Option<(u32, u32)>,
}

/// Elements visited by one scan, at most.
const MAX_EBML_ELEMENTS: u32 = 200_000;

struct Ebml<'a, R> {
    r: &'a mut R,
    len: u64,
    budget: u32,
}

/// An element header: id, payload start, payload size (None: unknown size).
type EbmlHeader = (u32, u64, Option<u64>);

impl<R: Read + Seek> Ebml<'_, R> {
    fn header(&mut self, pos: u64) -> Result<EbmlHeader, String> {
        self.budget = self.budget.checked_sub(1).ok_or("too many elements")?;
        let mut b = [0u8; 12];
        let n = read_at(self.r, pos, &mut b).map_err(|e| e.to_string())?;
        let b = &b[..n];
        let id_len = b.first().map_or(0, |&x| x.leading_zeros() as usize + 1);
        if !(1..=4).contains(&id_len) || b.len() < id_len {
            return Err(format!("invalid element id at byte {pos}"));
        }
        let id = b[..id_len]
            .iter()
            .fold(0u32, |acc, &x| (acc << 8) | x as u32);
        let s = &b[id_len..];
        let size_len = s.first().map_or(0, |&x| x.leading_zeros() as usize + 1);
        if !(1..=8).contains(&size_len) || s.len() < size_len {
            return Err(format!("invalid element size at byte {pos}"));
        }
        let mask = if size_len == 8 { 0 } else { 0xFFu8 >> size_len };
        let mut value = (s[0] & mask) as u64;
        for &x in &s[1..size_len] {
            value = (value << 8) | x as u64;
        }
        let unknown = value == (1u64 << (7 * size_len)) - 1;
        let start = pos + (id_len + size_len) as u64;
        Ok((id, start, (!unknown).then_some(value)))
    }

    /// End of an element's payload, if it has a known size that fits in `end`.
    fn fits(&self, start: u64, size: Option<u64>, end: u64) -> Result<u64, String> {
        match size {
            Some(size) if start.checked_add(size).is_some_and(|e| e <= end) => Ok(start + size),
            Some(_) => Err(format!("element at byte {start} runs past its parent")),
            None => Err(format!("element at byte {start} has an unknown size")),
        }
    }

    /// Children of the payload `start..end`, each checked to fit: (id, start, end).
    fn children(&mut self, start: u64, end: u64) -> Result<Vec<(u32, u64, u64)>, String> {
        let mut out = Vec::new();
        let mut pos = start;
        while pos < end {
            let (id, s, size) = self.header(pos)?;
            let e = self.fits(s, size, end)?;
            out.push((id, s, e));
            pos = e;
        }
        Ok(out)
    }

    /// Checks, recursively through every element the crate may treat as a master, that each
    /// element fits in its parent.
    fn check(&mut self, start: u64, end: u64, depth: u32) -> Result<(), String> {
        if depth > 16 {
            return Err("elements nested too deep".to_string());
        }
        for (id, s, e) in self.children(start, end)? {
            if ebml_id::MASTERS.contains(&id) {
                self.check(s, e, depth + 1)?;
            }
        }
        Ok(())
    }

    /// The checked level-1 element `id` at `pos`: its payload range.
    fn checked_element(&mut self, pos: u64, id: u32) -> Result<(u64, u64), String> {
        let (found, s, size) = self.header(pos)?;
        if found != id {
            return Err(format!(
                "seek entry at byte {pos} points to the wrong element"
            ));
        }
        let e = self.fits(s, size, self.len)?;
        self.check(s, e, 0)?;
        Ok((s, e))
    }

    fn uint(&mut self, start: u64, end: u64) -> Result<u64, String> {
        let n = (end - start) as usize;
        if n > 8 {
            return Err("integer wider than 8 bytes".to_string());
        }
        let mut b = [0u8; 8];
        read_at(self.r, start, &mut b[..n.max(1)]).map_err(|e| e.to_string())?;
        Ok(b[..n].iter().fold(0u64, |acc, &x| (acc << 8) | x as u64))
    }

    fn float(&mut self, start: u64, end: u64) -> Result<Option<f64>, String> {
        let mut b = [0u8; 8];
        Ok(match end - start {
            4 => {
                read_at(self.r, start, &mut b[..4]).map_err(|e| e.to_string())?;
                Some(f32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64)
            }
            8 => {
                read_at(self.r, start, &mut b).map_err(|e| e.to_string())?;
                Some(f64::from_be_bytes(b))
            }
            _ => None,
        })
    }
}

/// Walks a WebM file the way the matroska crate will (level-1 elements of the Segment, and the
/// targets of its SeekHead chain), checking that every element the crate reads fits inside its
/// parent and the file, and reads the duration and first video track's size on the way.
fn ebml_scan<R: Read + Seek>(r: &mut R, len: u64) -> Result<WebmInfo, String> {
    use ebml_id::*;
    let mut x = Ebml {
        r,
        len,
        budget: MAX_EBML_ELEMENTS,
    };
    // Top level: skip to the Segment, as the crate does.
    let mut pos = 0u64;
    let (seg_start, seg_size) = loop {
        let (id, start, size) = x.header(pos)?;
        if id == SEGMENT {
            break (start, size);
        }
        if id != EBML && pos == 0 {
            return Err("not an EBML file".to_string());
        }
        pos = x.fits(start, size, len)?;
    };
    let seg_end = seg_size
        .and_then(|s| seg_start.checked_add(s))
        .map_or(len, |e| e.min(len));

    // Level 1.
    let mut regions: Vec<(u32, u64, u64)> = Vec::new();
    let mut first_seekhead = None;
    let mut pos = seg_start;
    while pos < seg_end {
        let Ok((id, start, size)) = x.header(pos) else {
            break; // the crate stops here too
        };
        let parsed = PARSED.contains(&id);
        let end = match x.fits(start, size, len) {
            Ok(end) => end,
            Err(e) if parsed => return Err(e),
            Err(_) => break, // e.g. a live stream's unknown-size cluster: nothing after it is read
        };
        if parsed {
            x.check(start, end, 0)?;
            regions.push((id, start, end));
            if id == SEEKHEAD && first_seekhead.is_none() {
                first_seekhead = Some((start, end));
            }
        }
        if id == CLUSTER && first_seekhead.is_some() {
            break; // the crate has returned by now
        }
        pos = end;
    }

    // The SeekHead chain, merged the way the crate merges it.
    if let Some(mut table) = first_seekhead {
        let mut seeks: Vec<(u32, u64)> = Vec::new();
        let mut hops = 0;
        loop {
            for (id, s, e) in x.children(table.0, table.1)? {
                if id != SEEK {
                    continue;
                }
                let (mut seek_id, mut seek_pos) = (0u32, 0u64);
                for (id, s, e) in x.children(s, e)? {
                    if id == SEEKID {
                        let n = (e - s).min(8) as usize;
                        let mut b = [0u8; 8];
                        read_at(x.r, s, &mut b[..n.max(1)]).map_err(|e| e.to_string())?;
                        seek_id = b[..n].iter().fold(0u32, |acc, &v| (acc << 8) | v as u32);
                    } else if id == SEEKPOSITION {
                        seek_pos = x.uint(s, e)?;
                    }
                }
                seeks.retain(|&(i, _)| i != seek_id);
                seeks.push((seek_id, seek_pos));
            }
            let Some(i) = seeks.iter().position(|&(id, _)| id == SEEKHEAD) else {
                break;
            };
            let (_, next) = seeks.remove(i);
            hops += 1;
            if hops > 8 {
                return Err("SeekHead chain too long".to_string());
            }
            let at = seg_start.checked_add(next).ok_or("bad seek position")?;
            table = x.checked_element(at, SEEKHEAD)?;
        }
        regions.retain(|r| r.0 == SEEKHEAD);
        for (id, at) in seeks {
            if [INFO, TRACKS, ATTACHMENTS, CHAPTERS, TAGS].contains(&id) {
                let at = seg_start.checked_add(at).ok_or("bad seek position")?;
                let (s, e) = x.checked_element(at, id)?;
                regions.push((id, s, e));
            }
        }
    }

    // Values.
    let mut info = WebmInfo::default();
    if let Some(&(_, s, e)) = regions.iter().find(|r| r.0 == INFO) {
        let (mut scale, mut duration) = (1_000_000u64, None);
        for (id, s, e) in x.children(s, e)? {
            match id {
                TIMECODESCALE => scale = x.uint(s, e)?,
                DURATION => duration = x.float(s, e)?,
                _ => {}
            }
        }
        let ms = duration.map(|d| d * scale as f64 / 1e6);
        info.duration_ms = ms
            .filter(|ms| ms.is_finite() && *ms >= 1.0 && *ms < u64::MAX as f64)
            .map(|ms| ms.round() as u64);
    }
    if let Some(&(_, s, e)) = regions.iter().find(|r| r.0 == TRACKS) {
        'tracks: for (id, s, e) in x.children(s, e)? {
            if id != TRACKENTRY {
                continue;
            }
            for (id, s, e) in x.children(s, e)? {
                if id != VIDEO {
                    continue;
                }
                let (mut w, mut h) = (None, None);
                for (id, s, e) in x.children(s, e)? {
                    match id {
                        PIXELWIDTH => w = positive_u32(x.uint(s, e)?),
                        PIXELHEIGHT => h = positive_u32(x.uint(s, e)?),
                        _ => {}
                    }
                }
                if let Some(size) = w.zip(h) {
                    info.size = Some(size);
                    break 'tracks;
                }
            }
        }
    }
    Ok(info)
}

// ---------------------------------------------------------------------------------------------
// Audio.

fn probe_audio(path: &Path, mime: &str, p: &mut Properties) {
    match audio_duration(path, mime) {
        Ok(ms) => p.duration_ms = Some(ms),
        Err(e) => p
            .warnings
            .push(format!("could not read audio duration: {e}")),
    }
}

/// Packets counted at most when the stream does not state its length.
const MAX_PACKETS: u64 = 10_000_000;

fn audio_duration(path: &Path, mime: &str) -> Result<u64, String> {
    use symphonia::core::codecs::CODEC_TYPE_NULL;
    use symphonia::core::errors::Error;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    let (file, len) = open(path).map_err(|e| e.to_string())?;
    let mss = MediaSourceStream::new(Box::new(Budget::new(file, len)), Default::default());
    let mut hint = Hint::new();
    hint.mime_type(mime);
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions {
                enable_gapless: true,
                ..Default::default()
            },
            &MetadataOptions::default(),
        )
        .map_err(|e| e.to_string())?;
    let mut format = probed.format;
    let track = format
        .default_track()
        .filter(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .or_else(|| {
            format
                .tracks()
                .iter()
                .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        })
        .ok_or("no audio track")?;
    let (track_id, params) = (track.id, track.codec_params.clone());
    let to_ms = |ts: u64| -> Option<u64> {
        match (params.time_base, params.sample_rate) {
            (Some(tb), _) if tb.numer > 0 && tb.denom > 0 => {
                u64::try_from(ts as u128 * tb.numer as u128 * 1000 / tb.denom as u128).ok()
            }
            (_, Some(rate)) if rate > 0 => u64::try_from(ts as u128 * 1000 / rate as u128).ok(),
            _ => None,
        }
    };
    if let Some(n) = params.n_frames.filter(|&n| n > 0) {
        // n_frames counts sample frames; the time base of audio tracks is 1/sample_rate.
        let ms = match params.sample_rate {
            Some(rate) if rate > 0 => u64::try_from(n as u128 * 1000 / rate as u128).ok(),
            _ => to_ms(n),
        };
        return ms.ok_or_else(|| "no sample rate".to_string());
    }
    // No stated length (e.g. MP3 without a Xing/Info header): add up packet durations without
    // decoding.
    let (mut total, mut packets) = (0u64, 0u64);
    loop {
        match format.next_packet() {
            Ok(packet) => {
                if packet.track_id() == track_id {
                    total = total.saturating_add(packet.dur);
                }
                packets += 1;
                if packets > MAX_PACKETS {
                    return Err("too many packets".to_string());
                }
            }
            Err(Error::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(Error::ResetRequired) => break,
            Err(e) if total > 0 => {
                // A damaged tail: keep what was counted.
                let _ = e;
                break;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    if total == 0 {
        return Err("no audio packets".to_string());
    }
    to_ms(total).ok_or_else(|| "no sample rate".to_string())
}

#[cfg(test)]
mod tests {
    use super::super::noise;
    use super::*;
    use std::io::Cursor;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    fn fixture(name: &str) -> PathBuf {
        Path::new(FIXTURES).join(name)
    }

    /// A file in the temp dir, removed on drop.
    struct Temp(PathBuf);

    impl Temp {
        fn new(bytes: &[u8]) -> Temp {
            static N: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "probe-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, bytes).unwrap();
            Temp(path)
        }
    }

    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn assert_ms(actual: Option<u64>, expected: u64, what: &str) {
        let actual = actual.unwrap_or_else(|| panic!("{what}: no duration"));
        assert!(
            actual.abs_diff(expected) <= 50,
            "{what}: {actual} ms, expected {expected} ± 50 ms"
        );
    }

    #[test]
    fn media_fixtures_have_their_true_properties() {
        // (file, content type, width, height, duration in ms)
        type Case = (
            &'static str,
            &'static str,
            Option<u32>,
            Option<u32>,
            Option<u64>,
        );
        let cases: &[Case] = &[
            ("image_300x250.png", "image/png", Some(300), Some(250), None),
            ("logo.png", "image/png", Some(120), Some(60), None),
            (
                "image_300x250.jpg",
                "image/jpeg",
                Some(300),
                Some(250),
                None,
            ),
            (
                "image_300x250_bigexif.jpg",
                "image/jpeg",
                Some(300),
                Some(250),
                None,
            ),
            ("image_728x90.gif", "image/gif", Some(728), Some(90), None),
            (
                "image_160x600.webp",
                "image/webp",
                Some(160),
                Some(600),
                None,
            ),
            (
                "image_320x240.heic",
                "image/heic",
                Some(320),
                Some(240),
                None,
            ),
            (
                "image_300x250.svg",
                "image/svg+xml",
                Some(300),
                Some(250),
                None,
            ),
            (
                "image_viewbox.svg",
                "image/svg+xml",
                Some(320),
                Some(50),
                None,
            ),
            (
                "video_64x36_15s.mp4",
                "video/mp4",
                Some(64),
                Some(36),
                Some(15_000),
            ),
            (
                "video_64x36_30s.mp4",
                "video/mp4",
                Some(64),
                Some(36),
                Some(30_000),
            ),
            (
                "video_64x36_5s.mov",
                "video/quicktime",
                Some(64),
                Some(36),
                Some(5_000),
            ),
            (
                "video_64x36_5s.webm",
                "video/webm",
                Some(64),
                Some(36),
                Some(5_000),
            ),
            ("audio_30s.mp3", "audio/mpeg", None, None, Some(29_988)),
            ("audio_2s.wav", "audio/wav", None, None, Some(2_000)),
            ("audio_3s.ogg", "audio/ogg", None, None, Some(3_000)),
        ];
        for &(name, content_type, width, height, duration) in cases {
            let p = probe(&fixture(name), content_type);
            assert!(p.warnings.is_empty(), "{name}: {:?}", p.warnings);
            assert_eq!((p.width, p.height), (width, height), "{name}");
            match duration {
                Some(ms) => assert_ms(p.duration_ms, ms, name),
                None => assert_eq!(p.duration_ms, None, "{name}"),
            }
        }
    }

    #[test]
    fn content_type_spelling_is_tolerated() {
        let p = probe(&fixture("audio_2s.wav"), "audio/x-wav");
        assert_ms(p.duration_ms, 2_000, "audio/x-wav");
        let p = probe(&fixture("image_300x250.jpg"), "IMAGE/JPG; q=1");
        assert_eq!(p.width, Some(300));
    }

    #[test]
    fn non_media_types_have_no_properties() {
        for (name, ct) in [
            ("banner.html", "text/html"),
            ("doc.pdf", "application/pdf"),
            ("vast.xml", "application/xml"),
            ("font.woff2", "font/woff2"),
            ("script.js", "text/javascript"),
        ] {
            assert_eq!(probe(&fixture(name), ct), Properties::default(), "{name}");
        }
    }

    #[test]
    fn hand_walkers_agree_with_the_crates() {
        for (name, ms) in [
            ("video_64x36_15s.mp4", 15_000),
            ("video_64x36_30s.mp4", 30_000),
            ("video_64x36_5s.mov", 5_000),
        ] {
            let bytes = std::fs::read(fixture(name)).unwrap();
            let info = mov_walk(&mut Cursor::new(&bytes), bytes.len() as u64).unwrap();
            assert_eq!(info.size, Some((64, 36)), "{name}");
            assert_ms(info.duration_ms, ms, name);
        }
        let bytes = std::fs::read(fixture("video_64x36_5s.webm")).unwrap();
        let info = ebml_scan(&mut Cursor::new(&bytes), bytes.len() as u64).unwrap();
        assert_eq!(info.size, Some((64, 36)));
        assert_ms(info.duration_ms, 5_000, "webm scan");
    }

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    /// A QuickTime file the mp4 crate rejects (no sample tables), but whose headers are right.
    fn minimal_quicktime() -> Vec<u8> {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&600u32.to_be_bytes()); // timescale
        mvhd[16..20].copy_from_slice(&4_500u32.to_be_bytes()); // duration: 7.5 s
        let mut tkhd = vec![0u8; 84];
        tkhd[12..16].copy_from_slice(&1u32.to_be_bytes());
        tkhd[76..80].copy_from_slice(&(320u32 << 16).to_be_bytes());
        tkhd[80..84].copy_from_slice(&(240u32 << 16).to_be_bytes());
        let mut hdlr = vec![0u8; 24];
        hdlr[4..8].copy_from_slice(b"mhlr");
        hdlr[8..12].copy_from_slice(b"vide");
        let mdia = mp4_box(b"mdia", &mp4_box(b"hdlr", &hdlr));
        let trak = mp4_box(b"trak", &[mp4_box(b"tkhd", &tkhd), mdia].concat());
        let moov = mp4_box(b"moov", &[mp4_box(b"mvhd", &mvhd), trak].concat());
        let ftyp = mp4_box(b"ftyp", b"qt  \0\0\x02\0qt  ");
        [
            ftyp,
            mp4_box(b"wide", b""),
            mp4_box(b"mdat", &[0; 64]),
            moov,
        ]
        .concat()
    }

    #[test]
    fn quicktime_fallback_reads_what_the_crate_cannot() {
        let file = Temp::new(&minimal_quicktime());
        let p = probe(&file.0, "video/quicktime");
        assert_eq!(
            (p.width, p.height, p.duration_ms),
            (Some(320), Some(240), Some(7_500))
        );
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn box_walker_is_bounded_by_the_file() {
        // A moov claiming 2^40 bytes (64-bit size) and a box claiming less than its header.
        let mut bytes = mp4_box(b"ftyp", b"isom\0\0\0\0isom");
        bytes.extend_from_slice(&1u32.to_be_bytes());
        bytes.extend_from_slice(b"moov");
        bytes.extend_from_slice(&(1u64 << 40).to_be_bytes());
        bytes.extend_from_slice(&mp4_box(b"trak", &[0, 0, 0, 3, b't', b'k', b'h', b'd']));
        let info = mov_walk(&mut Cursor::new(&bytes), bytes.len() as u64).unwrap();
        assert_eq!(info, MovInfo::default());
        let file = Temp::new(&bytes);
        let p = probe(&file.0, "video/mp4");
        assert_eq!((p.width, p.duration_ms), (None, None));
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(p.warnings[0].starts_with("could not read video duration: "));
    }

    /// EBML element with a 1-byte size, or a raw size field.
    fn ebml(id: &[u8], size: Option<&[u8]>, payload: &[u8]) -> Vec<u8> {
        let mut b = id.to_vec();
        match size {
            Some(raw) => b.extend_from_slice(raw),
            None => b.push(0x80 | payload.len() as u8),
        }
        b.extend_from_slice(payload);
        b
    }

    fn ebml_header() -> Vec<u8> {
        ebml(b"\x1A\x45\xDF\xA3", None, &ebml(b"\x42\x82", None, b"webm"))
    }

    #[test]
    fn hostile_webm_sizes_are_refused_before_the_crate_allocates() {
        // CodecPrivate claiming 2^44 bytes inside a TrackEntry.
        let codec_private = ebml(b"\x63\xA2", Some(b"\x01\0\0\x10\0\0\0\0"), b"xx");
        let entry = ebml(b"\xAE", None, &codec_private);
        let tracks = ebml(b"\x16\x54\xAE\x6B", None, &entry);
        let segment = ebml(
            b"\x18\x53\x80\x67",
            Some(b"\x01\xFF\xFF\xFF\xFF\xFF\xFF\xFF"),
            &tracks,
        );
        let file = Temp::new(&[ebml_header(), segment].concat());
        let p = probe(&file.0, "video/webm");
        assert_eq!((p.width, p.duration_ms), (None, None));
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("malformed WebM"), "{:?}", p.warnings);
    }

    #[test]
    fn webm_seek_head_loops_are_refused() {
        // A SeekHead whose only entry points at itself: the crate would follow it forever.
        let seek = ebml(
            b"\x4D\xBB",
            None,
            &[
                ebml(b"\x53\xAB", None, b"\x11\x4D\x9B\x74"),
                ebml(b"\x53\xAC", None, &[0]),
            ]
            .concat(),
        );
        let seek_head = ebml(b"\x11\x4D\x9B\x74", None, &seek);
        let segment = ebml(b"\x18\x53\x80\x67", None, &seek_head);
        let bytes = [ebml_header(), segment].concat();
        let err = ebml_scan(&mut Cursor::new(&bytes), bytes.len() as u64).unwrap_err();
        assert!(err.contains("SeekHead chain"), "{err}");
        let file = Temp::new(&bytes);
        let p = probe(&file.0, "video/webm");
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    }

    #[test]
    fn webm_without_seek_head_or_duration() {
        // Info (no Duration) and Tracks directly in an unknown-size Segment, as live streams do.
        let video = ebml(
            b"\xE0",
            None,
            &[
                ebml(b"\xB0", None, &[2, 128]),
                ebml(b"\xBA", None, &[1, 224]),
            ]
            .concat(),
        );
        let entry = ebml(b"\xAE", None, &[ebml(b"\x83", None, &[1]), video].concat());
        let info = ebml(
            b"\x15\x49\xA9\x66",
            None,
            &ebml(b"\x2A\xD7\xB1", None, &[0x0F, 0x42, 0x40]),
        );
        let tracks = ebml(b"\x16\x54\xAE\x6B", None, &entry);
        let cluster = ebml(
            b"\x1F\x43\xB6\x75",
            Some(b"\x01\xFF\xFF\xFF\xFF\xFF\xFF\xFF"),
            b"\xE7\x81\x00",
        );
        let segment = ebml(
            b"\x18\x53\x80\x67",
            Some(b"\x01\xFF\xFF\xFF\xFF\xFF\xFF\xFF"),
            &[info, tracks, cluster].concat(),
        );
        let file = Temp::new(&[ebml_header(), segment].concat());
        let p = probe(&file.0, "video/webm");
        assert_eq!(
            (p.width, p.height, p.duration_ms),
            (Some(640), Some(480), None)
        );
        assert_eq!(
            p.warnings,
            vec!["could not read video duration: not present in the file"]
        );
    }

    #[test]
    fn svg_sizes() {
        let cases: &[(&str, Option<u32>, Option<u32>)] = &[
            (
                r#"<svg width="120px" height=" 60 " />"#,
                Some(120),
                Some(60),
            ),
            (
                r#"<svg width="100%" height="100%" viewBox="0,0,728,90"/>"#,
                Some(728),
                Some(90),
            ),
            (
                r#"<svg width="10em" viewBox="0 0 300 600"/>"#,
                Some(300),
                Some(600),
            ),
            (
                r#"<svg width="150" viewBox="0 0 300 600"/>"#,
                Some(150),
                Some(300),
            ),
            (
                r#"<svg height="20.4" viewBox="-5 -5 100 10"/>"#,
                Some(204),
                Some(20),
            ),
            (
                r#"<svg:svg xmlns:svg="http://www.w3.org/2000/svg" width="5" height="6"/>"#,
                Some(5),
                Some(6),
            ),
            (
                r#"<!DOCTYPE svg [<!ENTITY x "y">]><!-- c --><svg width="7" height="8"><g/></svg>"#,
                Some(7),
                Some(8),
            ),
        ];
        for &(svg, w, h) in cases {
            let file = Temp::new(svg.as_bytes());
            let p = probe(&file.0, "image/svg+xml");
            assert_eq!((p.width, p.height), (w, h), "{svg}");
            assert!(p.warnings.is_empty(), "{svg}: {:?}", p.warnings);
        }
        for svg in [
            r#"<svg width="50%" viewBox="0 0 0 10"/>"#,
            r#"<svg width="-3" height="NaN" viewBox="a b c d"/>"#,
            r#"<html><svg width="1" height="1"/></html>"#,
            "<svg width=\"1\"",
            "",
            "\u{feff}",
        ] {
            let file = Temp::new(svg.as_bytes());
            let p = probe(&file.0, "image/svg+xml");
            assert!(p.width.is_none() || p.height.is_none(), "{svg}");
            assert_eq!(p.warnings.len(), 1, "{svg}: {:?}", p.warnings);
            assert!(
                p.warnings[0].starts_with("could not read SVG size"),
                "{svg}"
            );
        }
    }

    #[test]
    fn missing_files_warn() {
        for ct in [
            "image/png",
            "image/svg+xml",
            "video/mp4",
            "video/webm",
            "audio/mpeg",
        ] {
            let p = probe(Path::new("/nonexistent/probe/file"), ct);
            assert_eq!((p.width, p.height, p.duration_ms), (None, None, None));
            assert!(!p.warnings.is_empty(), "{ct}");
        }
    }

    const MEDIA: [(&str, &str); 13] = [
        ("image_300x250.png", "image/png"),
        ("image_300x250.jpg", "image/jpeg"),
        ("image_728x90.gif", "image/gif"),
        ("image_160x600.webp", "image/webp"),
        ("image_320x240.heic", "image/heic"),
        ("image_300x250.svg", "image/svg+xml"),
        ("video_64x36_15s.mp4", "video/mp4"),
        ("video_64x36_5s.mov", "video/quicktime"),
        ("video_64x36_5s.webm", "video/webm"),
        ("audio_30s.mp3", "audio/mpeg"),
        ("audio_2s.wav", "audio/wav"),
        ("audio_3s.ogg", "audio/ogg"),
        ("video_64x36_30s.mp4", "video/mp4"),
    ];

    #[test]
    fn garbage_gives_warnings_not_panics() {
        let garbage = [vec![], vec![0u8], noise(100, 1), noise(70_000, 2)];
        for (_, ct) in MEDIA {
            for bytes in &garbage {
                let file = Temp::new(bytes);
                let p = probe(&file.0, ct);
                assert_eq!(
                    (p.width, p.height, p.duration_ms),
                    (None, None, None),
                    "{ct}"
                );
                assert!(!p.warnings.is_empty(), "{ct} {} bytes", bytes.len());
            }
        }
        // The wrong content type for real media.
        let p = probe(&fixture("audio_2s.wav"), "video/mp4");
        assert!(p.duration_ms.is_none() && !p.warnings.is_empty());
        let p = probe(&fixture("image_300x250.png"), "audio/ogg");
        assert!(p.duration_ms.is_none() && !p.warnings.is_empty());
    }

    #[test]
    fn truncated_and_corrupted_media_never_panic() {
        for (name, ct) in MEDIA {
            let bytes = std::fs::read(fixture(name)).unwrap();
            let mut variants = Vec::new();
            for cut in [4, 12, 16, 40, 100, 300, 1000, 4000] {
                variants.push(bytes[..cut.min(bytes.len())].to_vec());
            }
            variants.push(bytes[..bytes.len() / 2].to_vec());
            // Flip bytes through the headers.
            for (i, seed) in (0..24).zip(100u64..) {
                let mut v = bytes.clone();
                let at = (i * 37 + 5) % v.len().min(2000);
                let n = noise(4, seed);
                for (k, b) in n.iter().enumerate() {
                    if let Some(x) = v.get_mut(at + k) {
                        *x ^= b | 1;
                    }
                }
                variants.push(v);
            }
            for v in variants {
                let file = Temp::new(&v);
                let p = probe(&file.0, ct);
                if p.width.is_none() && p.duration_ms.is_none() {
                    assert!(!p.warnings.is_empty(), "{name}: {} bytes", v.len());
                }
            }
        }
        // A truncated MP4 (moov at the end is cut off) and MP3 in particular.
        let mp4 = std::fs::read(fixture("video_64x36_15s.mp4")).unwrap();
        let file = Temp::new(&mp4[..5000]);
        let p = probe(&file.0, "video/mp4");
        assert_eq!((p.width, p.duration_ms), (None, None));
        assert!(p
            .warnings
            .iter()
            .any(|w| w.starts_with("could not read video duration")));
        let mp3 = std::fs::read(fixture("audio_30s.mp3")).unwrap();
        let file = Temp::new(&mp3[..mp3.len() / 2]);
        let p = probe(&file.0, "audio/mpeg");
        // 415 whole 36-byte frames of 36 ms survive the cut.
        assert_ms(p.duration_ms, 14_940, "half an MP3");
    }

    #[test]
    fn svgs_declaring_entities_or_a_system_dtd_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let check = |text: &str| {
            let p = dir.path().join("x.svg");
            std::fs::write(&p, text).unwrap();
            check_svg(&p).unwrap()
        };
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;">]><svg xmlns="http://www.w3.org/2000/svg">&b;</svg>"#;
        assert_eq!(check(laughs), Err(SvgRefusal::EntityDeclaration));
        let xxe = r#"<!DOCTYPE svg [<!entity xxe SYSTEM "file:///etc/passwd">]><svg>&xxe;</svg>"#;
        assert_eq!(check(xxe), Err(SvgRefusal::EntityDeclaration));
        let system = r#"<!DOCTYPE svg SYSTEM "file:///etc/passwd"><svg width="1" height="1"/>"#;
        assert_eq!(check(system), Err(SvgRefusal::ExternalDtd));
        // The entity declaration split across read chunks is still found.
        let far = format!(
            "<!--{}--><!DOCTYPE svg [<!ENTITY a \"b\">]><svg/>",
            " ".repeat(65_511)
        );
        assert_eq!(check(&far), Err(SvgRefusal::EntityDeclaration));
        for ok in [
            r#"<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg width="1" height="1"/>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="300" height="250"><text>SYSTEM</text></svg>"#,
            "<svg",
            "",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }
}
