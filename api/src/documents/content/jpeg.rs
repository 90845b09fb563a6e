//! Stripping a JPEG's metadata as it streams: the marker segments are walked and EXIF (APP1,
//! where a photo's GPS position lives), XMP, the other application segments and comments are
//! dropped; APP0 (JFIF), the ICC colour profile (APP2 `ICC_PROFILE`) and APP14 `Adobe` (which
//! says how to read the colours) are kept, like every segment the decoder needs.
//!
//! The entropy-coded data after SOS is copied through, but watched for markers: progressive
//! JPEGs put tables between their scans, and a segment after a scan is walked like any other.
//! Whatever follows EOI is dropped (phones append trailers and further images there, with
//! their own metadata).

use super::{ContentError, fill};

/// The longest identifier looked at to decide whether to keep an APP2 or APP14 segment.
const ICC: &[u8] = b"ICC_PROFILE\0";
const ADOBE: &[u8] = b"Adobe";

const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;
const SOI: u8 = 0xD8;
const APP0: u8 = 0xE0;
const APP2: u8 = 0xE2;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

/// Where the walk is between pushes (only headers of a few bytes are ever held).
enum Step {
    /// The first two bytes, FF D8.
    Soi { have: usize, buf: [u8; 2] },
    /// A marker's 0xFF is due.
    Marker,
    /// After a 0xFF: the marker's code (further 0xFF are fill).
    Code,
    /// A segment's two-byte length.
    Length {
        marker: u8,
        have: usize,
        buf: [u8; 2],
    },
    /// The start of an APP2 or APP14 payload, to see which it is.
    Identifier {
        marker: u8,
        length: [u8; 2],
        payload: usize,
        have: usize,
        buf: [u8; ICC.len()],
    },
    /// A kept segment's payload; then the entropy-coded data if it was SOS.
    Copy { remaining: usize, scan: bool },
    /// A dropped segment's payload.
    Skip { remaining: usize },
    /// Entropy-coded data.
    Scan,
    /// Entropy-coded data after a 0xFF.
    ScanFf,
    /// After EOI: dropped.
    Trailer,
}

/// The streaming JPEG metadata stripper.
pub(super) struct JpegStripper {
    step: Step,
    scanned: bool,
}

impl Default for JpegStripper {
    fn default() -> JpegStripper {
        JpegStripper {
            step: Step::Soi {
                have: 0,
                buf: [0; 2],
            },
            scanned: false,
        }
    }
}

fn copy(remaining: usize, scan: bool) -> Step {
    match (remaining, scan) {
        (0, true) => Step::Scan,
        (0, false) => Step::Marker,
        _ => Step::Copy { remaining, scan },
    }
}

fn skip(remaining: usize) -> Step {
    if remaining == 0 {
        Step::Marker
    } else {
        Step::Skip { remaining }
    }
}

impl JpegStripper {
    /// Takes the next bytes; appends what is kept to `out`.
    pub(super) fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ContentError> {
        let mut at = 0;
        while at < input.len() {
            self.step = match std::mem::replace(&mut self.step, Step::Marker) {
                Step::Soi { mut have, mut buf } => {
                    if !fill(&mut buf, &mut have, input, &mut at) {
                        Step::Soi { have, buf }
                    } else if buf == [0xFF, SOI] {
                        out.extend_from_slice(&buf);
                        Step::Marker
                    } else {
                        return Err(ContentError::Malformed("the JPEG does not start with SOI"));
                    }
                }
                Step::Marker => {
                    if input[at] != 0xFF {
                        return Err(ContentError::Malformed(
                            "a JPEG segment is not followed by a marker",
                        ));
                    }
                    at += 1;
                    Step::Code
                }
                Step::Code => {
                    let code = input[at];
                    at += 1;
                    if code == 0xFF {
                        Step::Code
                    } else {
                        self.marker(code, out)?
                    }
                }
                Step::Length {
                    marker,
                    mut have,
                    mut buf,
                } => {
                    if fill(&mut buf, &mut have, input, &mut at) {
                        Self::segment(marker, buf, out)?
                    } else {
                        Step::Length { marker, have, buf }
                    }
                }
                Step::Identifier {
                    marker,
                    length,
                    payload,
                    mut have,
                    mut buf,
                } => {
                    let wanted = payload.min(ICC.len());
                    if fill(&mut buf[..wanted], &mut have, input, &mut at) {
                        let head = &buf[..wanted];
                        let keep = (marker == APP2 && head.starts_with(ICC))
                            || (marker == APP14 && head.starts_with(ADOBE));
                        if keep {
                            out.extend_from_slice(&[0xFF, marker, length[0], length[1]]);
                            out.extend_from_slice(head);
                            copy(payload - wanted, false)
                        } else {
                            skip(payload - wanted)
                        }
                    } else {
                        Step::Identifier {
                            marker,
                            length,
                            payload,
                            have,
                            buf,
                        }
                    }
                }
                Step::Copy { remaining, scan } => {
                    let take = remaining.min(input.len() - at);
                    out.extend_from_slice(&input[at..at + take]);
                    at += take;
                    copy(remaining - take, scan)
                }
                Step::Skip { remaining } => {
                    let take = remaining.min(input.len() - at);
                    at += take;
                    skip(remaining - take)
                }
                Step::Scan => {
                    let rest = &input[at..];
                    match rest.iter().position(|&b| b == 0xFF) {
                        Some(ff) => {
                            out.extend_from_slice(&rest[..ff]);
                            at += ff + 1;
                            Step::ScanFf
                        }
                        None => {
                            out.extend_from_slice(rest);
                            at = input.len();
                            Step::Scan
                        }
                    }
                }
                Step::ScanFf => {
                    let code = input[at];
                    at += 1;
                    match code {
                        // A stuffed 0xFF data byte, or a restart marker: still the scan.
                        0x00 | 0xD0..=0xD7 => {
                            out.extend_from_slice(&[0xFF, code]);
                            Step::Scan
                        }
                        0xFF => Step::ScanFf,
                        _ => self.marker(code, out)?,
                    }
                }
                Step::Trailer => {
                    at = input.len();
                    Step::Trailer
                }
            };
        }
        Ok(())
    }

    /// A marker's code has been read (outside entropy-coded data, or ending it).
    fn marker(&mut self, code: u8, out: &mut Vec<u8>) -> Result<Step, ContentError> {
        match code {
            0x00 => Err(ContentError::Malformed("a JPEG marker is invalid")),
            SOI => Err(ContentError::Malformed("a JPEG has a second SOI marker")),
            EOI if !self.scanned => Err(ContentError::Malformed("a JPEG has no image data")),
            EOI => {
                out.extend_from_slice(&[0xFF, EOI]);
                Ok(Step::Trailer)
            }
            // TEM and the restart markers stand alone, without a length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, code]);
                Ok(Step::Marker)
            }
            _ => {
                if code == SOS {
                    self.scanned = true;
                }
                Ok(Step::Length {
                    marker: code,
                    have: 0,
                    buf: [0; 2],
                })
            }
        }
    }

    /// A segment's length has been read: keep it, drop it, or look at its identifier first.
    fn segment(marker: u8, length: [u8; 2], out: &mut Vec<u8>) -> Result<Step, ContentError> {
        let payload = usize::from(u16::from_be_bytes(length))
            .checked_sub(2)
            .ok_or(ContentError::Malformed("a JPEG segment length is invalid"))?;
        Ok(match marker {
            APP2 | APP14 => Step::Identifier {
                marker,
                length,
                payload,
                have: 0,
                buf: [0; ICC.len()],
            },
            APP0 => {
                out.extend_from_slice(&[0xFF, marker, length[0], length[1]]);
                copy(payload, false)
            }
            // APP1 (EXIF, XMP), APP3..APP13, APP15 and comments.
            0xE1..=0xEF | COM => skip(payload),
            _ => {
                out.extend_from_slice(&[0xFF, marker, length[0], length[1]]);
                copy(payload, marker == SOS)
            }
        })
    }

    /// The end of the input: it must have come after EOI.
    pub(super) fn finish(self) -> Result<(), ContentError> {
        match self.step {
            Step::Trailer => Ok(()),
            Step::Length { .. }
            | Step::Identifier { .. }
            | Step::Copy { .. }
            | Step::Skip { .. } => Err(ContentError::Malformed("a JPEG segment runs past the end")),
            Step::Scan | Step::ScanFf => Err(ContentError::Malformed(
                "the JPEG ends before its EOI marker",
            )),
            Step::Soi { .. } | Step::Marker | Step::Code => Err(ContentError::Malformed(
                "the JPEG ends before its image data",
            )),
        }
    }
}
