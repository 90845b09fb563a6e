//! Stripping a PNG's metadata as it streams: the chunks are walked and `eXIf` (EXIF, with GPS),
//! the text chunks `tEXt`, `zTXt`, `iTXt` (which carry XMP and free-form notes) and `tIME` are
//! dropped; every other chunk is copied verbatim, so its CRC stays valid. Whatever follows
//! `IEND` is dropped.

use super::{ContentError, fill};

const SIGNATURE: [u8; 8] = *b"\x89PNG\r\n\x1a\n";
const DROPPED: [&[u8; 4]; 5] = [b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"];

/// Where the walk is between pushes.
enum Step {
    Signature {
        have: usize,
        buf: [u8; 8],
    },
    /// A chunk's length and type.
    Header {
        have: usize,
        buf: [u8; 8],
    },
    /// A kept chunk's data and CRC; `last` for IEND.
    Copy {
        remaining: u64,
        last: bool,
    },
    /// A dropped chunk's data and CRC.
    Skip {
        remaining: u64,
    },
    /// After IEND: dropped.
    Trailer,
}

/// The streaming PNG metadata stripper.
pub(super) struct PngStripper {
    step: Step,
    first: bool,
}

impl Default for PngStripper {
    fn default() -> PngStripper {
        PngStripper {
            step: Step::Signature {
                have: 0,
                buf: [0; 8],
            },
            first: true,
        }
    }
}

const fn header() -> Step {
    Step::Header {
        have: 0,
        buf: [0; 8],
    }
}

fn copy(remaining: u64, last: bool) -> Step {
    match (remaining, last) {
        (0, true) => Step::Trailer,
        (0, false) => header(),
        _ => Step::Copy { remaining, last },
    }
}

fn skip(remaining: u64) -> Step {
    if remaining == 0 {
        header()
    } else {
        Step::Skip { remaining }
    }
}

/// How many of `remaining` bytes the rest of `input` (from `at`) holds.
fn available(remaining: u64, input: &[u8], at: usize) -> usize {
    usize::try_from(remaining).map_or(input.len() - at, |r| r.min(input.len() - at))
}

impl PngStripper {
    /// Takes the next bytes; appends what is kept to `out`.
    pub(super) fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ContentError> {
        let mut at = 0;
        while at < input.len() {
            self.step = match std::mem::replace(&mut self.step, Step::Trailer) {
                Step::Signature { mut have, mut buf } => {
                    if !fill(&mut buf, &mut have, input, &mut at) {
                        Step::Signature { have, buf }
                    } else if buf == SIGNATURE {
                        out.extend_from_slice(&buf);
                        header()
                    } else {
                        return Err(ContentError::Malformed("the PNG signature is wrong"));
                    }
                }
                Step::Header { mut have, mut buf } => {
                    if fill(&mut buf, &mut have, input, &mut at) {
                        self.chunk(buf, out)?
                    } else {
                        Step::Header { have, buf }
                    }
                }
                Step::Copy { remaining, last } => {
                    let take = available(remaining, input, at);
                    out.extend_from_slice(&input[at..at + take]);
                    at += take;
                    copy(remaining - take as u64, last)
                }
                Step::Skip { remaining } => {
                    let take = available(remaining, input, at);
                    at += take;
                    skip(remaining - take as u64)
                }
                Step::Trailer => {
                    at = input.len();
                    Step::Trailer
                }
            };
        }
        Ok(())
    }

    /// A chunk's header has been read: keep the chunk or drop it.
    fn chunk(&mut self, header: [u8; 8], out: &mut Vec<u8>) -> Result<Step, ContentError> {
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        if length > 0x7FFF_FFFF {
            return Err(ContentError::Malformed("a PNG chunk length is invalid"));
        }
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(ContentError::Malformed("a PNG chunk type is invalid"));
        }
        if std::mem::take(&mut self.first) && &kind != b"IHDR" {
            return Err(ContentError::Malformed("the PNG does not start with IHDR"));
        }
        // The data and the CRC.
        let remaining = u64::from(length) + 4;
        if DROPPED.contains(&&kind) {
            return Ok(skip(remaining));
        }
        out.extend_from_slice(&header);
        Ok(copy(remaining, &kind == b"IEND"))
    }

    /// The end of the input: it must have come after IEND.
    pub(super) fn finish(self) -> Result<(), ContentError> {
        match self.step {
            Step::Trailer => Ok(()),
            Step::Copy { .. } | Step::Skip { .. } => {
                Err(ContentError::Malformed("a PNG chunk runs past the end"))
            }
            Step::Signature { .. } | Step::Header { .. } => Err(ContentError::Malformed(
                "the PNG ends before its IEND chunk",
            )),
        }
    }
}
