//! Detecting a document's type from its first bytes, with `infer`'s magic numbers, and plain
//! text as what `infer` does not recognise and reads as UTF-8 text.

use super::text::Utf8Text;
use super::{ContentError, MediaType};

/// What the head of a document was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sniffed {
    /// A type on the allow-list.
    Allowed(MediaType),
    /// A type `infer` knows that is not on the allow-list (its MIME type, for the refusal).
    Other(&'static str),
    /// Neither a known format nor text.
    Unknown,
}

/// Detects the type of a document from its head and checks it: on the allow-list, as declared
/// in `Content-Type`, and as named by the file name's extension (if it names a type).
pub(super) fn check(
    declared: MediaType,
    named: Option<MediaType>,
    head: &[u8],
) -> Result<MediaType, ContentError> {
    if head.is_empty() {
        return Err(ContentError::Malformed("the document is empty"));
    }
    let detected = match detect(head) {
        Sniffed::Allowed(media) => media,
        Sniffed::Other(mime) => {
            return Err(ContentError::NotAllowed {
                detected: Some(mime),
            });
        }
        Sniffed::Unknown if declared == MediaType::PlainText => return Err(ContentError::NotText),
        Sniffed::Unknown => return Err(ContentError::NotAllowed { detected: None }),
    };
    if detected != declared {
        return Err(ContentError::DeclaredMismatch { declared, detected });
    }
    if let Some(named) = named
        && named != detected
    {
        return Err(ContentError::NameMismatch { named, detected });
    }
    Ok(detected)
}

/// Detects the type of a document from its head (its first bytes, or all of it if short).
pub(super) fn detect(head: &[u8]) -> Sniffed {
    match infer::get(head) {
        Some(kind) => match allowed(kind.mime_type()) {
            Some(media) => Sniffed::Allowed(media),
            None => Sniffed::Other(kind.mime_type()),
        },
        // The head may end inside a code point: that is checked with the rest of the stream.
        None if Utf8Text::default().push(head).is_ok() => Sniffed::Allowed(MediaType::PlainText),
        None => Sniffed::Unknown,
    }
}

/// The allowed type for one of `infer`'s MIME types (its spelling, not always the canonical).
fn allowed(mime: &str) -> Option<MediaType> {
    let media = match mime {
        "application/pdf" => MediaType::Pdf,
        "image/jpeg" => MediaType::Jpeg,
        "image/png" => MediaType::Png,
        "image/webp" => MediaType::Webp,
        "image/heif" => MediaType::Heic,
        "audio/mpeg" => MediaType::Mp3,
        "audio/m4a" => MediaType::M4a,
        "audio/ogg" | "audio/opus" => MediaType::Ogg,
        "audio/x-wav" => MediaType::Wav,
        "audio/amr" => MediaType::Amr,
        "audio/aac" => MediaType::Aac,
        "audio/x-flac" => MediaType::Flac,
        _ => return None,
    };
    Some(media)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_allowed_type_but_text_has_an_infer_mime_type() {
        let covered: Vec<MediaType> = [
            "application/pdf",
            "image/jpeg",
            "image/png",
            "image/webp",
            "image/heif",
            "audio/mpeg",
            "audio/m4a",
            "audio/ogg",
            "audio/x-wav",
            "audio/amr",
            "audio/aac",
            "audio/x-flac",
        ]
        .iter()
        .filter_map(|mime| allowed(mime))
        .collect();
        for media in MediaType::ALL {
            assert!(
                media == MediaType::PlainText || covered.contains(&media),
                "{media} is never detected"
            );
        }
    }

    #[test]
    fn magic_numbers_are_recognised() {
        let cases: [(&[u8], MediaType); 8] = [
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", MediaType::Pdf),
            (b"ID3\x04\x00\x00\x00\x00\x00\x00", MediaType::Mp3),
            (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", MediaType::M4a),
            (b"OggS\x00\x02\x00\x00\x00\x00\x00\x00", MediaType::Ogg),
            (b"RIFF\x24\x00\x00\x00WAVEfmt ", MediaType::Wav),
            (b"#!AMR\n\x3c\x00\x00\x00\x00\x00", MediaType::Amr),
            (b"\xff\xf1\x50\x80\x00\x1f\xfc", MediaType::Aac),
            (b"fLaC\x00\x00\x00\x22", MediaType::Flac),
        ];
        for (head, media) in cases {
            assert_eq!(detect(head), Sniffed::Allowed(media), "{media}");
        }
        assert_eq!(
            detect("Notes: the client’s address\r\n\tis withheld.\x0c".as_bytes()),
            Sniffed::Allowed(MediaType::PlainText)
        );
        assert_eq!(detect(b"text\x00with a NUL"), Sniffed::Unknown);
        assert_eq!(detect(b"\x01\x02\x03\x04"), Sniffed::Unknown);
    }
}
