//! The checks a document's bytes go through before they are encrypted and stored.
//!
//! A document's plaintext streams through an [`Inspector`]: it sniffs the content's real type
//! from its first bytes (never trusting the `Content-Type` or the file name), refuses anything
//! off the allow-list or at odds with what the client declared, and strips the metadata from
//! images as they pass (a photo's EXIF GPS position can reveal a shelter): JPEG, PNG, WebP and
//! HEIC. Audio, PDF and text pass through unchanged; text is checked to be UTF-8 text to its
//! last byte.
//!
//! The optional malware scan of the same plaintext lives in [`scan`].
//!
//! Nothing here keeps more than a small bounded buffer whatever the size of the document (the
//! sniffed head, at most [`SNIFF_LEN`] bytes; a HEIC's `meta` box, at most 64 KiB), and no
//! error carries the file's name or any of its bytes.

mod heic;
mod jpeg;
mod png;
pub mod scan;
mod sniff;
#[cfg(test)]
mod tests;
mod text;
mod webp;

use std::fmt;

/// How many leading bytes are buffered to sniff the type (or the whole input if shorter).
pub const SNIFF_LEN: usize = 8 * 1024;

/// The media types a document may have (the allow-list): what case workers actually attach
/// (scans, photos, voice recordings, notes), and nothing a browser or an OS would execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// A PDF document (consent forms, reports, scans).
    Pdf,
    /// A JPEG photo or scan.
    Jpeg,
    /// A PNG image.
    Png,
    /// A WebP image.
    Webp,
    /// A HEIC photo (iPhones).
    Heic,
    /// UTF-8 plain text.
    PlainText,
    /// MP3 audio.
    Mp3,
    /// AAC audio in an MP4 container (`.m4a`).
    M4a,
    /// Ogg audio (Vorbis or Opus).
    Ogg,
    /// WAV audio.
    Wav,
    /// AMR audio (phone voice recordings).
    Amr,
    /// Raw AAC audio (ADTS).
    Aac,
    /// FLAC audio.
    Flac,
}

impl MediaType {
    /// Every allowed type, for listing the allow-list (e.g. in the API's documentation).
    pub const ALL: [MediaType; 13] = [
        MediaType::Pdf,
        MediaType::Jpeg,
        MediaType::Png,
        MediaType::Webp,
        MediaType::Heic,
        MediaType::PlainText,
        MediaType::Mp3,
        MediaType::M4a,
        MediaType::Ogg,
        MediaType::Wav,
        MediaType::Amr,
        MediaType::Aac,
        MediaType::Flac,
    ];

    /// The canonical MIME type, for a download's `Content-Type` and for problem details.
    #[must_use]
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Pdf => "application/pdf",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
            MediaType::Heic => "image/heic",
            MediaType::PlainText => "text/plain",
            MediaType::Mp3 => "audio/mpeg",
            MediaType::M4a => "audio/mp4",
            MediaType::Ogg => "audio/ogg",
            MediaType::Wav => "audio/wav",
            MediaType::Amr => "audio/amr",
            MediaType::Aac => "audio/aac",
            MediaType::Flac => "audio/flac",
        }
    }

    /// The type a client declared in `Content-Type`: case-insensitive, parameters (`; charset=…`)
    /// ignored, common aliases accepted. `None` for a type off the allow-list.
    #[must_use]
    pub fn from_mime(declared: &str) -> Option<MediaType> {
        let essence = declared.split(';').next().unwrap_or("").trim();
        let essence = essence.to_ascii_lowercase();
        let media = match essence.as_str() {
            "application/pdf" | "application/x-pdf" => MediaType::Pdf,
            "image/jpeg" | "image/jpg" | "image/pjpeg" => MediaType::Jpeg,
            "image/png" | "image/x-png" => MediaType::Png,
            "image/webp" => MediaType::Webp,
            "image/heic" | "image/heif" => MediaType::Heic,
            "text/plain" => MediaType::PlainText,
            "audio/mpeg" | "audio/mp3" | "audio/x-mp3" | "audio/mpeg3" | "audio/x-mpeg" => {
                MediaType::Mp3
            }
            "audio/mp4" | "audio/m4a" | "audio/x-m4a" => MediaType::M4a,
            "audio/ogg" | "audio/opus" | "audio/vorbis" | "application/ogg" => MediaType::Ogg,
            "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => MediaType::Wav,
            "audio/amr" => MediaType::Amr,
            "audio/aac" | "audio/x-aac" | "audio/aacp" => MediaType::Aac,
            "audio/flac" | "audio/x-flac" => MediaType::Flac,
            _ => return None,
        };
        Some(media)
    }

    /// The type a file name's extension names, case-insensitive. `None` when the name has no
    /// extension or one that names no allowed type (such a name contradicts nothing).
    #[must_use]
    pub fn from_file_name(name: &str) -> Option<MediaType> {
        let (stem, extension) = name.rsplit_once('.')?;
        // A name like ".profile" is a hidden file without an extension.
        if stem.is_empty() || stem.ends_with(['/', '\\']) {
            return None;
        }
        let media = match extension.to_ascii_lowercase().as_str() {
            "pdf" => MediaType::Pdf,
            "jpg" | "jpeg" | "jpe" | "jfif" => MediaType::Jpeg,
            "png" => MediaType::Png,
            "webp" => MediaType::Webp,
            "heic" | "heif" => MediaType::Heic,
            "txt" | "text" => MediaType::PlainText,
            "mp3" => MediaType::Mp3,
            "m4a" => MediaType::M4a,
            "ogg" | "oga" | "opus" => MediaType::Ogg,
            "wav" => MediaType::Wav,
            "amr" => MediaType::Amr,
            "aac" => MediaType::Aac,
            "flac" => MediaType::Flac,
            _ => return None,
        };
        Some(media)
    }

    /// The canonical extension (without the dot), for a download's suggested file name.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Pdf => "pdf",
            MediaType::Jpeg => "jpg",
            MediaType::Png => "png",
            MediaType::Webp => "webp",
            MediaType::Heic => "heic",
            MediaType::PlainText => "txt",
            MediaType::Mp3 => "mp3",
            MediaType::M4a => "m4a",
            MediaType::Ogg => "ogg",
            MediaType::Wav => "wav",
            MediaType::Amr => "amr",
            MediaType::Aac => "aac",
            MediaType::Flac => "flac",
        }
    }

    /// Whether the type is an image, whose metadata is stripped (and which a client may preview).
    #[must_use]
    pub fn is_image(self) -> bool {
        matches!(
            self,
            MediaType::Jpeg | MediaType::Png | MediaType::Webp | MediaType::Heic
        )
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime())
    }
}

/// Why content was refused. The Display texts are written for an RFC 9457 problem's `detail`:
/// they may name media types and the field at fault, never the file's name nor any of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// The detected type is not on the allow-list (`None`: nothing was recognised).
    #[error("{}", not_allowed(*.detected))]
    NotAllowed {
        /// The MIME type the content was recognised as, if any.
        detected: Option<&'static str>,
    },
    /// The `Content-Type` declares one type and the bytes are another.
    #[error("the Content-Type declares {declared} but the content is {detected}")]
    DeclaredMismatch {
        /// What `Content-Type` said.
        declared: MediaType,
        /// What the bytes are.
        detected: MediaType,
    },
    /// The file name's extension names another type than the bytes are.
    #[error("the file name's extension names {named} but the content is {detected}")]
    NameMismatch {
        /// What the file name's extension names.
        named: MediaType,
        /// What the bytes are.
        detected: MediaType,
    },
    /// The content claims a format but its structure is broken (truncated or garbled).
    #[error("the content is malformed: {0}")]
    Malformed(&'static str),
    /// Declared `text/plain`, but the content is not UTF-8 text.
    #[error(
        "the Content-Type declares text/plain but the content is not UTF-8 text \
         (or holds control characters)"
    )]
    NotText,
}

/// Moves bytes from `input[*at..]` into `buf[*have..]` until `buf` is full; returns whether it
/// is. The strippers read their fixed-size headers with it, whatever the slicing of the input.
fn fill(buf: &mut [u8], have: &mut usize, input: &[u8], at: &mut usize) -> bool {
    let take = (buf.len() - *have).min(input.len() - *at);
    buf[*have..*have + take].copy_from_slice(&input[*at..*at + take]);
    *have += take;
    *at += take;
    *have == buf.len()
}

fn not_allowed(detected: Option<&'static str>) -> String {
    match detected {
        Some(mime) => format!("the content is {mime}, which is not accepted for documents"),
        None => "the content's type is not one accepted for documents".to_owned(),
    }
}

/// Checks and sanitises a document's bytes as they stream in, before they are encrypted.
///
/// The first [`SNIFF_LEN`] bytes (or all, if fewer) are held back to detect the type; from then
/// on bytes come out as they go in, less the images' metadata. The output depends only on the
/// input's bytes, never on how they were sliced into pushes. After a refusal every further call
/// returns the same error, and nothing that came out may be kept.
pub struct Inspector {
    declared: MediaType,
    named: Option<MediaType>,
    state: State,
}

enum State {
    Sniffing(Vec<u8>),
    Passing(MediaType, Stage),
    Failed(ContentError),
}

/// What is done with the bytes after the head, by type.
enum Stage {
    Pass,
    Text(text::Utf8Text),
    Jpeg(jpeg::JpegStripper),
    Png(png::PngStripper),
    Webp(webp::WebpStripper),
    Heic(heic::HeicStripper),
}

impl Stage {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ContentError> {
        match self {
            Stage::Pass => {
                out.extend_from_slice(input);
                Ok(())
            }
            Stage::Text(text) => {
                text.push(input)?;
                out.extend_from_slice(input);
                Ok(())
            }
            Stage::Jpeg(jpeg) => jpeg.push(input, out),
            Stage::Png(png) => png.push(input, out),
            Stage::Webp(webp) => webp.push(input, out),
            Stage::Heic(heic) => heic.push(input, out),
        }
    }

    fn finish(self) -> Result<(), ContentError> {
        match self {
            Stage::Pass => Ok(()),
            Stage::Text(text) => text.finish(),
            Stage::Jpeg(jpeg) => jpeg.finish(),
            Stage::Png(png) => png.finish(),
            Stage::Webp(webp) => webp.finish(),
            Stage::Heic(heic) => heic.finish(),
        }
    }
}

impl fmt::Debug for Inspector {
    /// Names the types and the stage only: the buffered head is the document's content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Sniffing(head) => format!("sniffing ({} bytes held)", head.len()),
            State::Passing(detected, _) => format!("passing {detected}"),
            State::Failed(error) => format!("failed: {error}"),
        };
        f.debug_struct("Inspector")
            .field("declared", &self.declared)
            .field("named", &self.named)
            .field("state", &state)
            .finish()
    }
}

impl Inspector {
    /// An inspector for one document, with the type its `Content-Type` declared and its file
    /// name if it has one (only the extension is kept).
    #[must_use]
    pub fn new(declared: MediaType, file_name: Option<&str>) -> Inspector {
        Inspector {
            declared,
            named: file_name.and_then(MediaType::from_file_name),
            state: State::Sniffing(Vec::with_capacity(SNIFF_LEN)),
        }
    }

    /// Takes the next bytes, in any slicing; appends to `out` the bytes to store.
    ///
    /// # Errors
    /// A [`ContentError`] as soon as the content is refused; the same one from then on.
    pub fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), ContentError> {
        if let State::Sniffing(head) = &mut self.state {
            let take = input.len().min(SNIFF_LEN - head.len());
            head.extend_from_slice(&input[..take]);
            input = &input[take..];
            if head.len() < SNIFF_LEN {
                return Ok(());
            }
            self.decide(out)?;
        }
        let result = match &mut self.state {
            State::Passing(_, stage) => stage.push(input, out),
            State::Failed(error) => Err(error.clone()),
            State::Sniffing(_) => Ok(()),
        };
        self.fail_on(result)
    }

    /// The end of the input: flushes the rest into `out` and returns the detected type.
    ///
    /// # Errors
    /// A [`ContentError`] if the content is refused, including when it ends too early.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<MediaType, ContentError> {
        if let State::Sniffing(_) = self.state {
            self.decide(out)?;
        }
        match self.state {
            State::Passing(detected, stage) => stage.finish().map(|()| detected),
            State::Failed(error) => Err(error),
            State::Sniffing(_) => Err(ContentError::NotAllowed { detected: None }),
        }
    }

    fn fail_on(&mut self, result: Result<(), ContentError>) -> Result<(), ContentError> {
        if let Err(error) = &result {
            self.state = State::Failed(error.clone());
        }
        result
    }

    /// Detects the type from the held head, checks it and starts its stage with the head.
    fn decide(&mut self, out: &mut Vec<u8>) -> Result<(), ContentError> {
        let State::Sniffing(head) = std::mem::replace(&mut self.state, State::Sniffing(Vec::new()))
        else {
            return Ok(());
        };
        let result = sniff::check(self.declared, self.named, &head).and_then(|detected| {
            let mut stage = match detected {
                MediaType::PlainText => Stage::Text(text::Utf8Text::default()),
                MediaType::Jpeg => Stage::Jpeg(jpeg::JpegStripper::default()),
                MediaType::Png => Stage::Png(png::PngStripper::default()),
                MediaType::Webp => Stage::Webp(webp::WebpStripper::default()),
                MediaType::Heic => Stage::Heic(heic::HeicStripper::default()),
                _ => Stage::Pass,
            };
            stage.push(&head, out)?;
            Ok((detected, stage))
        });
        match result {
            Ok((detected, stage)) => {
                self.state = State::Passing(detected, stage);
                Ok(())
            }
            Err(error) => {
                self.state = State::Failed(error.clone());
                Err(error)
            }
        }
    }
}
