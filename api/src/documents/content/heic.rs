//! Stripping a HEIC's metadata as it streams.
//!
//! A HEIF file is a series of ISO-BMFF boxes; its `meta` box indexes the items, among them the
//! `Exif` item (with GPS) and XMP (a `mime` item of type `application/rdf+xml`), whose bytes
//! usually sit in the `mdat` box that follows. As with WebP, sizes and offsets have gone out
//! before the metadata arrives, so nothing is removed: the `meta` box (small) is held whole,
//! read for those items' extents (`iinf`, `iloc`), and then the bytes of the extents are
//! overwritten with zeros as they pass, in `idat` inside `meta` or later in the file. An extent
//! before the end of `meta` (already gone out) or one we cannot locate is refused.

use super::{ContentError, fill};

/// The largest `meta` box held (phones write a few KiB: item infos, locations, properties).
const META_MAX: u64 = 64 * 1024;
const XMP_MIME: &[u8] = b"application/rdf+xml";

fn malformed(why: &'static str) -> ContentError {
    ContentError::Malformed(why)
}

/// Where the walk is between pushes.
enum Step {
    /// A top-level box's header: 8 bytes, or 16 with a 64-bit size.
    Header { have: usize, buf: [u8; 16] },
    /// A top-level box before `meta`, copied (`None`: it runs to the end of the file).
    Copy { remaining: Option<u64> },
    /// The `meta` box, held whole.
    Meta { buf: Vec<u8>, size: usize },
    /// After `meta`: copied, with the metadata items' extents zeroed.
    Rest,
}

/// The streaming HEIC metadata stripper.
pub(super) struct HeicStripper {
    step: Step,
    /// The file offset of the next byte.
    at: u64,
    /// The file ranges (start, end) to zero after `meta`, sorted.
    zero: Vec<(u64, u64)>,
}

impl Default for HeicStripper {
    fn default() -> HeicStripper {
        HeicStripper {
            step: next_header(),
            at: 0,
            zero: Vec::new(),
        }
    }
}

const fn next_header() -> Step {
    Step::Header {
        have: 0,
        buf: [0; 16],
    }
}

impl HeicStripper {
    /// Takes the next bytes; appends them to `out`, metadata zeroed.
    pub(super) fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ContentError> {
        let mut at = 0;
        while at < input.len() {
            let start = at;
            self.step = match std::mem::replace(&mut self.step, Step::Rest) {
                Step::Header { mut have, mut buf } => {
                    let need = if have >= 4 && buf[..4] == [0, 0, 0, 1] {
                        16
                    } else {
                        8
                    };
                    if fill(&mut buf[..need], &mut have, input, &mut at) {
                        if need == 8 && buf[..4] == [0, 0, 0, 1] {
                            Step::Header { have, buf }
                        } else {
                            self.top_box(&buf[..need], out)?
                        }
                    } else {
                        Step::Header { have, buf }
                    }
                }
                Step::Copy { remaining } => {
                    let left = input.len() - at;
                    let take = remaining
                        .map_or(left, |r| usize::try_from(r).map_or(left, |r| r.min(left)));
                    out.extend_from_slice(&input[at..at + take]);
                    at += take;
                    match remaining.map(|r| r - take as u64) {
                        Some(0) => next_header(),
                        remaining => Step::Copy { remaining },
                    }
                }
                Step::Meta { mut buf, size } => {
                    let take = (size - buf.len()).min(input.len() - at);
                    buf.extend_from_slice(&input[at..at + take]);
                    at += take;
                    if buf.len() == size {
                        let meta_end = self.at + (at - start) as u64;
                        self.meta(buf, meta_end, out)?
                    } else {
                        Step::Meta { buf, size }
                    }
                }
                Step::Rest => {
                    // `at == start` here: the rest of the input, from file offset `self.at`.
                    let first = out.len();
                    out.extend_from_slice(&input[at..]);
                    let (from, to) = (self.at, self.at + (input.len() - at) as u64);
                    for &(zero_from, zero_to) in &self.zero {
                        let (a, b) = (zero_from.max(from), zero_to.min(to));
                        if a < b {
                            let a = first + (a - from) as usize;
                            let b = first + (b - from) as usize;
                            out[a..b].fill(0);
                        }
                    }
                    at = input.len();
                    Step::Rest
                }
            };
            self.at += (at - start) as u64;
        }
        Ok(())
    }

    /// A top-level box's header has been read.
    fn top_box(&mut self, header: &[u8], out: &mut Vec<u8>) -> Result<Step, ContentError> {
        let kind = &header[4..8];
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            0 => None,
            1 => {
                let mut large = [0; 8];
                large.copy_from_slice(&header[8..16]);
                Some(u64::from_be_bytes(large))
            }
            size => Some(u64::from(size)),
        };
        let body = match size {
            None => None,
            Some(size) => Some(
                size.checked_sub(header.len() as u64)
                    .ok_or(malformed("a HEIC box size is invalid"))?,
            ),
        };
        if kind == b"meta" {
            let size = size
                .filter(|&size| size <= META_MAX)
                .ok_or(malformed("the HEIC's meta box is too large"))?;
            let mut buf = Vec::with_capacity(size as usize);
            buf.extend_from_slice(header);
            return Ok(Step::Meta {
                buf,
                size: size as usize,
            });
        }
        out.extend_from_slice(header);
        Ok(match body {
            Some(0) => next_header(),
            remaining => Step::Copy { remaining },
        })
    }

    /// The `meta` box is whole: zero its metadata items (in `idat`) and note the others' file
    /// ranges, then let it out.
    fn meta(
        &mut self,
        mut meta: Vec<u8>,
        meta_end: u64,
        out: &mut Vec<u8>,
    ) -> Result<Step, ContentError> {
        let index = index::read(&meta)?;
        for extent in index.extents {
            let index::Extent {
                method,
                offset,
                length,
            } = extent;
            let end = offset
                .checked_add(length)
                .ok_or(malformed("a HEIC item's extent is invalid"))?;
            match method {
                0 if offset >= meta_end => self.zero.push((offset, end)),
                0 => return Err(malformed("a HEIC metadata item comes before its index")),
                1 => {
                    let (idat_start, idat_len) = index
                        .idat
                        .ok_or(malformed("a HEIC item's extent is invalid"))?;
                    if end > idat_len as u64 {
                        return Err(malformed("a HEIC item's extent is invalid"));
                    }
                    let from = idat_start + offset as usize;
                    meta[from..idat_start + end as usize].fill(0);
                }
                _ => return Err(malformed("a HEIC item is built in an unsupported way")),
            }
        }
        self.zero.sort_unstable();
        out.extend_from_slice(&meta);
        Ok(Step::Rest)
    }

    /// The end of the input: after `meta`, and past every zeroed range.
    pub(super) fn finish(self) -> Result<(), ContentError> {
        match self.step {
            Step::Rest if self.zero.iter().all(|&(_, end)| end <= self.at) => Ok(()),
            Step::Rest => Err(malformed("the HEIC ends before its metadata items")),
            Step::Copy { remaining: None } | Step::Header { have: 0, .. } => {
                Err(malformed("the HEIC has no meta box"))
            }
            Step::Header { .. } | Step::Copy { .. } | Step::Meta { .. } => {
                Err(malformed("a HEIC box runs past the end"))
            }
        }
    }
}

/// Reading the `meta` box's item index: which items are EXIF or XMP, and where their bytes
/// are.
mod index {
    use super::{ContentError, XMP_MIME, malformed};

    /// One extent of a metadata item: `method` 0 for a file offset, 1 for an `idat` offset.
    #[derive(Debug)]
    pub(super) struct Extent {
        pub(super) method: u8,
        pub(super) offset: u64,
        pub(super) length: u64,
    }

    /// What the strippers need from `meta`.
    #[derive(Debug, Default)]
    pub(super) struct Index {
        pub(super) extents: Vec<Extent>,
        /// Where `idat`'s payload is in the `meta` box, and its length.
        pub(super) idat: Option<(usize, usize)>,
    }

    /// A cursor over a box's bytes.
    struct Reader<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Result<&'a [u8], ContentError> {
            let end = self
                .at
                .checked_add(n)
                .filter(|&end| end <= self.bytes.len());
            let end = end.ok_or(malformed("a HEIC box runs past its parent"))?;
            let taken = &self.bytes[self.at..end];
            self.at = end;
            Ok(taken)
        }

        /// An unsigned big-endian number of 0, 1, 2, 4 or 8 bytes.
        fn uint(&mut self, n: usize) -> Result<u64, ContentError> {
            if !matches!(n, 0 | 1 | 2 | 4 | 8) {
                return Err(malformed("a HEIC field size is invalid"));
            }
            Ok(self.take(n)?.iter().fold(0, |v, &b| v << 8 | u64::from(b)))
        }

        fn string(&mut self) -> Result<&'a [u8], ContentError> {
            let rest = &self.bytes[self.at..];
            let len = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or(malformed("a HEIC string is unterminated"))?;
            self.at += len + 1;
            Ok(&rest[..len])
        }

        /// The next child box: its type, and where its body starts and ends in `bytes`.
        fn child(&mut self) -> Result<([u8; 4], usize, usize), ContentError> {
            let start = self.at;
            let size = self.uint(4)?;
            let mut kind = [0; 4];
            kind.copy_from_slice(self.take(4)?);
            let size = match size {
                0 => (self.bytes.len() - start) as u64,
                1 => self.uint(8)?,
                size => size,
            };
            let end = usize::try_from(size)
                .ok()
                .and_then(|size| start.checked_add(size))
                .filter(|&end| end >= self.at && end <= self.bytes.len())
                .ok_or(malformed("a HEIC box runs past its parent"))?;
            let body = self.at;
            self.at = end;
            Ok((kind, body, end))
        }
    }

    /// Reads a whole `meta` box (with its header).
    pub(super) fn read(meta: &[u8]) -> Result<Index, ContentError> {
        let mut top = Reader { bytes: meta, at: 0 };
        let (_, body, end) = top.child()?;
        let mut boxes = Reader {
            bytes: &meta[..end],
            at: body + 4, // version and flags
        };
        let mut index = Index::default();
        let mut metadata_items = Vec::new();
        let mut iloc = None;
        while boxes.at < end {
            let (kind, body, box_end) = boxes.child()?;
            let bytes = &meta[..box_end];
            match &kind {
                b"iinf" => metadata_items = item_infos(Reader { bytes, at: body })?,
                b"iloc" => iloc = Some(body..box_end),
                b"idat" => index.idat = Some((body, box_end - body)),
                _ => {}
            }
        }
        if let Some(range) = iloc {
            let bytes = &meta[..range.end];
            index.extents = locations(
                Reader {
                    bytes,
                    at: range.start,
                },
                &metadata_items,
            )?;
        } else if !metadata_items.is_empty() {
            return Err(malformed("a HEIC has items but no locations"));
        }
        Ok(index)
    }

    /// The IDs of the EXIF and XMP items (`iinf`).
    fn item_infos(mut r: Reader<'_>) -> Result<Vec<u32>, ContentError> {
        let version = r.uint(1)?;
        r.take(3)?;
        let count = r.uint(if version == 0 { 2 } else { 4 })?;
        let mut found = Vec::new();
        for _ in 0..count {
            let (kind, body, end) = r.child()?;
            if &kind != b"infe" {
                continue;
            }
            let mut e = Reader {
                bytes: &r.bytes[..end],
                at: body,
            };
            let version = e.uint(1)?;
            e.take(3)?;
            let (id, metadata) = match version {
                0 | 1 => {
                    let id = e.uint(2)?;
                    e.take(2)?;
                    e.string()?;
                    (id, e.string()? == XMP_MIME)
                }
                2 | 3 => {
                    let id = e.uint(if version == 2 { 2 } else { 4 })?;
                    e.take(2)?;
                    let kind = e.take(4)?;
                    e.string()?;
                    let xmp = kind == b"mime" && e.string()? == XMP_MIME;
                    (id, kind == b"Exif" || xmp)
                }
                _ => return Err(malformed("a HEIC item info has an unknown version")),
            };
            if metadata {
                found.push(id as u32);
            }
        }
        Ok(found)
    }

    /// The extents of the given items (`iloc`).
    fn locations(mut r: Reader<'_>, items: &[u32]) -> Result<Vec<Extent>, ContentError> {
        let version = r.uint(1)?;
        r.take(3)?;
        let sizes = r.uint(2)? as usize;
        let (offset_size, length_size, base_size) =
            (sizes >> 12, (sizes >> 8) & 0xF, (sizes >> 4) & 0xF);
        let index_size = if version == 0 { 0 } else { sizes & 0xF };
        let count = match version {
            0 | 1 => r.uint(2)?,
            2 => r.uint(4)?,
            _ => return Err(malformed("a HEIC item location has an unknown version")),
        };
        let mut extents = Vec::new();
        for _ in 0..count {
            let id = r.uint(if version == 2 { 4 } else { 2 })? as u32;
            let method = if version == 0 {
                0
            } else {
                (r.uint(2)? & 0xF) as u8
            };
            let reference = r.uint(2)?;
            let base = r.uint(base_size)?;
            let extent_count = r.uint(2)?;
            for _ in 0..extent_count {
                r.uint(index_size)?;
                let offset = r.uint(offset_size)?;
                let length = r.uint(length_size)?;
                if !items.contains(&id) || (method == 0 && reference != 0) {
                    continue;
                }
                if length == 0 {
                    return Err(malformed("a HEIC metadata item has no length"));
                }
                let offset = base
                    .checked_add(offset)
                    .ok_or(malformed("a HEIC item's extent is invalid"))?;
                extents.push(Extent {
                    method,
                    offset,
                    length,
                });
            }
        }
        Ok(extents)
    }
}
