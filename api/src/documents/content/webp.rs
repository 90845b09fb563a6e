//! Stripping a WebP's metadata as it streams.
//!
//! Why the chunks are blanked rather than removed: the RIFF header at the very start holds the
//! container's total size, and it has gone out (to be encrypted and stored) long before the
//! `EXIF` and `XMP ` chunks near the end arrive; removing them would change that size. So their
//! payload is overwritten with zeros and their FourCC renamed to an unknown one (`XXXX`), which
//! every size leaves valid and which readers must ignore (the WebP container specification says
//! unknown chunks are skipped); and the EXIF and XMP flags of `VP8X` are cleared so that no
//! reader goes looking for the metadata. Whatever follows the RIFF container is dropped.

use super::{ContentError, fill};

/// The FourCC blanked metadata chunks are renamed to.
const BLANKED: [u8; 4] = *b"XXXX";
/// The EXIF and XMP bits of the `VP8X` flags byte (`Rsv I L E X A R`, most significant first).
const METADATA_FLAGS: u8 = 0x08 | 0x04;

/// Where the walk is between pushes.
enum Step {
    /// `RIFF`, the size, `WEBP`.
    Riff { have: usize, buf: [u8; 12] },
    /// A chunk's FourCC and size.
    Header { have: usize, buf: [u8; 8] },
    /// A kept chunk's payload (and padding); `clear` the flags to clear in its first byte.
    Copy { remaining: u64, clear: u8 },
    /// A metadata chunk's payload (and padding), written as zeros.
    Zero { remaining: u64 },
    /// After the RIFF container: dropped.
    Trailer,
}

/// The streaming WebP metadata stripper.
pub(super) struct WebpStripper {
    step: Step,
    /// The bytes of the RIFF container not yet walked.
    left: u64,
}

impl Default for WebpStripper {
    fn default() -> WebpStripper {
        WebpStripper {
            step: Step::Riff {
                have: 0,
                buf: [0; 12],
            },
            left: 0,
        }
    }
}

fn available(remaining: u64, input: &[u8], at: usize) -> usize {
    usize::try_from(remaining).map_or(input.len() - at, |r| r.min(input.len() - at))
}

impl WebpStripper {
    /// The step after a chunk, or after the header when `remaining` is 0.
    fn next(&self, step: Step) -> Step {
        match step {
            Step::Copy { remaining: 0, .. } | Step::Zero { remaining: 0 } if self.left == 0 => {
                Step::Trailer
            }
            Step::Copy { remaining: 0, .. } | Step::Zero { remaining: 0 } => Step::Header {
                have: 0,
                buf: [0; 8],
            },
            step => step,
        }
    }

    /// Takes the next bytes; appends what is kept (and the zeros) to `out`.
    pub(super) fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ContentError> {
        let mut at = 0;
        while at < input.len() {
            let step = match std::mem::replace(&mut self.step, Step::Trailer) {
                Step::Riff { mut have, mut buf } => {
                    if !fill(&mut buf, &mut have, input, &mut at) {
                        Step::Riff { have, buf }
                    } else if &buf[..4] != b"RIFF" || &buf[8..] != b"WEBP" {
                        return Err(ContentError::Malformed("the WebP's RIFF header is wrong"));
                    } else {
                        let size = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
                        self.left = u64::from(size)
                            .checked_sub(4)
                            .ok_or(ContentError::Malformed("the WebP's RIFF size is invalid"))?;
                        out.extend_from_slice(&buf);
                        Step::Copy {
                            remaining: 0,
                            clear: 0,
                        }
                    }
                }
                Step::Header { mut have, mut buf } => {
                    if fill(&mut buf, &mut have, input, &mut at) {
                        self.chunk(buf, out)?
                    } else {
                        Step::Header { have, buf }
                    }
                }
                Step::Copy { remaining, clear } => {
                    let take = available(remaining, input, at);
                    let start = out.len();
                    out.extend_from_slice(&input[at..at + take]);
                    if take > 0 {
                        out[start] &= !clear;
                    }
                    at += take;
                    Step::Copy {
                        remaining: remaining - take as u64,
                        clear: if take > 0 { 0 } else { clear },
                    }
                }
                Step::Zero { remaining } => {
                    let take = available(remaining, input, at);
                    out.resize(out.len() + take, 0);
                    at += take;
                    Step::Zero {
                        remaining: remaining - take as u64,
                    }
                }
                Step::Trailer => {
                    at = input.len();
                    Step::Trailer
                }
            };
            self.step = self.next(step);
        }
        Ok(())
    }

    /// A chunk's header has been read: copy, blank, or refuse a chunk past the container.
    fn chunk(&mut self, header: [u8; 8], out: &mut Vec<u8>) -> Result<Step, ContentError> {
        let fourcc = [header[0], header[1], header[2], header[3]];
        let size = u64::from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        let within = self
            .left
            .checked_sub(8 + size)
            .ok_or(ContentError::Malformed(
                "a WebP chunk runs past the end of its RIFF container",
            ))?;
        // An odd-sized chunk is padded with one byte (tolerated missing at the very end).
        let padding = (size & 1).min(within);
        self.left = within - padding;
        let remaining = size + padding;
        match &fourcc {
            b"EXIF" | b"XMP " => {
                out.extend_from_slice(&BLANKED);
                out.extend_from_slice(&header[4..]);
                Ok(Step::Zero { remaining })
            }
            b"VP8X" => {
                out.extend_from_slice(&header);
                Ok(Step::Copy {
                    remaining,
                    clear: METADATA_FLAGS,
                })
            }
            _ => {
                out.extend_from_slice(&header);
                Ok(Step::Copy {
                    remaining,
                    clear: 0,
                })
            }
        }
    }

    /// The end of the input: it must have come at the end of the RIFF container.
    pub(super) fn finish(self) -> Result<(), ContentError> {
        match self.step {
            Step::Trailer => Ok(()),
            _ => Err(ContentError::Malformed(
                "the WebP ends before its RIFF container does",
            )),
        }
    }
}
