//! The `Inspector` end to end, on images assembled here byte by byte: metadata gone (by
//! kamadak-exif and by looking for the GPS latitude's bytes), images still decoding, output
//! independent of the slicing, and every refusal.

mod fixtures;
mod heic;

use std::io::Cursor;

use super::*;
use fixtures::{LATITUDE, join, jpeg_pieces, jpeg_segment, png_pieces, tiff_with_gps, webp};

/// Runs `bytes` through an Inspector in pushes of `slice` bytes.
fn inspect(
    declared: MediaType,
    name: Option<&str>,
    bytes: &[u8],
    slice: usize,
) -> (Result<MediaType, ContentError>, Vec<u8>) {
    let mut inspector = Inspector::new(declared, name);
    let mut out = Vec::new();
    for piece in bytes.chunks(slice.max(1)) {
        if let Err(error) = inspector.push(piece, &mut out) {
            return (Err(error), out);
        }
    }
    let result = inspector.finish(&mut out);
    (result, out)
}

/// The output, checked to be the same for every slicing of the input (one byte at a time,
/// odd sizes, across the sniffed head's end, whole).
fn sanitise(declared: MediaType, name: Option<&str>, bytes: &[u8]) -> Vec<u8> {
    let (result, whole) = inspect(declared, name, bytes, bytes.len());
    assert_eq!(result, Ok(declared));
    for slice in [1, 2, 3, 7, 1000, SNIFF_LEN - 1, SNIFF_LEN + 1] {
        let (sliced, out) = inspect(declared, name, bytes, slice);
        assert_eq!(sliced, Ok(declared), "slices of {slice}");
        assert!(out == whole, "slices of {slice} gave other bytes");
    }
    whole
}

fn refusal(declared: MediaType, name: Option<&str>, bytes: &[u8]) -> ContentError {
    let (result, _) = inspect(declared, name, bytes, bytes.len());
    let error = result.unwrap_err();
    for slice in [1, 5, SNIFF_LEN] {
        assert_eq!(inspect(declared, name, bytes, slice).0, Err(error.clone()));
    }
    error
}

fn exif_of(bytes: &[u8]) -> Result<exif::Exif, exif::Error> {
    exif::Reader::new().read_from_container(&mut Cursor::new(bytes))
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn assert_has_gps(original: &[u8]) {
    let exif = exif_of(original).expect("the fixture's EXIF parses");
    assert!(
        exif.get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
            .is_some()
    );
    assert!(holds(original, &LATITUDE));
}

fn assert_no_metadata(sanitised: &[u8]) {
    assert!(matches!(exif_of(sanitised), Err(exif::Error::NotFound(_))));
    assert!(!holds(sanitised, &LATITUDE));
    assert!(!holds(sanitised, b"shelter"));
    assert!(!holds(sanitised, b"xmpmeta"));
    assert!(!holds(sanitised, b"appended after"));
}

#[test]
fn a_jpeg_loses_exif_xmp_comments_and_trailer_and_still_decodes() {
    let pieces = jpeg_pieces();
    let original = join(&pieces, false);
    assert_has_gps(&original);
    let decoded = jpeg_decoder::Decoder::new(Cursor::new(&original)).decode();
    assert!(decoded.is_ok(), "the fixture decodes: {decoded:?}");

    let out = sanitise(MediaType::Jpeg, Some("IMG_0001.JPG"), &original);
    assert_eq!(out, join(&pieces, true));
    assert_no_metadata(&out);
    assert!(holds(&out, b"ICC_PROFILE\0") && holds(&out, b"Adobe") && holds(&out, b"JFIF"));
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(&out));
    assert_eq!(decoder.decode().unwrap().len(), 64);
}

#[test]
fn a_jpeg_scan_is_walked_for_markers() {
    let pieces = jpeg_pieces();
    let scan_start = pieces.len() - 2;
    let mut before: Vec<(Vec<u8>, bool)> = pieces[..scan_start].to_vec();
    before.extend([
        // Stuffed 0xFF and a restart marker stay in the scan; the APP1 after it is dropped.
        (vec![0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56], true),
        (
            jpeg_segment(0xE1, &[b"Exif\0\0".as_slice(), &tiff_with_gps()].concat()),
            false,
        ),
        (
            jpeg_segment(
                0xC4,
                &[0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
            true,
        ),
        (jpeg_segment(0xDA, &[1, 1, 0, 0, 63, 0]), true),
        (vec![0x3F, 0xFF, 0xD9], true),
    ]);
    let out = sanitise(MediaType::Jpeg, None, &join(&before, false));
    assert_eq!(out, join(&before, true));
    assert!(!holds(&out, &LATITUDE));
}

#[test]
fn a_png_loses_its_metadata_chunks_and_still_decodes() {
    let pieces = png_pieces();
    let original = join(&pieces, false);
    assert_has_gps(&original);

    let out = sanitise(MediaType::Png, Some("scan.png"), &original);
    assert_eq!(out, join(&pieces, true));
    assert_no_metadata(&out);
    let mut reader = ::png::Decoder::new(Cursor::new(&out)).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut pixels).unwrap();
    assert_eq!(pixels, [0x80]);
}

#[test]
fn a_webp_keeps_its_sizes_with_the_metadata_blanked() {
    let original = webp();
    assert_has_gps(&original);

    let out = sanitise(MediaType::Webp, Some("photo.webp"), &original);
    assert_no_metadata(&out);
    let container = original.len() - b"appended after the container".len();
    assert_eq!(out.len(), container, "same size, less the trailer");
    // Walk it: every chunk inside the RIFF size, no EXIF or XMP, the VP8X flags cleared.
    let size = u32::from_le_bytes([out[4], out[5], out[6], out[7]]) as usize;
    assert_eq!(size + 8, out.len());
    let mut at = 12;
    let mut fourccs = Vec::new();
    while at < out.len() {
        let fourcc = &out[at..at + 4];
        let length = u32::from_le_bytes([out[at + 4], out[at + 5], out[at + 6], out[at + 7]]);
        let data = &out[at + 8..at + 8 + length as usize];
        match fourcc {
            b"VP8X" => assert_eq!(data[0], 0x10, "alpha kept, EXIF and XMP cleared"),
            b"XXXX" => assert!(data.iter().all(|&b| b == 0)),
            _ => assert_eq!(data, &original[at + 8..at + 8 + length as usize]),
        }
        fourccs.push(String::from_utf8_lossy(fourcc).into_owned());
        at += 8 + length as usize + (length as usize & 1);
    }
    assert_eq!(at, out.len());
    assert_eq!(fourccs, ["VP8X", "VP8L", "XXXX", "XXXX"]);
}

#[test]
fn audio_pdf_and_text_pass_through_unchanged() {
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend((0..20_000_u32).map(|i| (i * 7 % 251) as u8));
    assert_eq!(sanitise(MediaType::Pdf, Some("consent.pdf"), &pdf), pdf);

    let mut mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    mp3.extend((0..10_000_u32).map(|i| (i % 256) as u8));
    assert_eq!(sanitise(MediaType::Mp3, Some("interview.MP3"), &mp3), mp3);

    // Long enough that code points straddle the sniffed head's end, whatever the slicing.
    let text = "Interview notes – “she said” 日本語 🙂\r\n".repeat(400);
    assert!(text.len() > 2 * SNIFF_LEN);
    let out = sanitise(MediaType::PlainText, Some("notes.txt"), text.as_bytes());
    assert_eq!(out, text.as_bytes());
}

#[test]
fn text_is_checked_to_the_last_byte() {
    let mut text = "a".repeat(SNIFF_LEN + 10).into_bytes();
    text.push(0);
    assert_eq!(
        refusal(MediaType::PlainText, None, &text),
        ContentError::NotText
    );
    text.pop();
    text.extend_from_slice(&"€".as_bytes()[..2]);
    assert_eq!(
        refusal(MediaType::PlainText, None, &text),
        ContentError::NotText
    );
    assert_eq!(
        refusal(MediaType::PlainText, None, b"\x01\x02binary"),
        ContentError::NotText
    );
}

#[test]
fn content_at_odds_with_its_declaration_or_name_is_refused() {
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n";
    assert_eq!(
        refusal(MediaType::Jpeg, None, pdf),
        ContentError::DeclaredMismatch {
            declared: MediaType::Jpeg,
            detected: MediaType::Pdf
        }
    );
    assert_eq!(
        refusal(MediaType::Pdf, Some("x.jpg"), pdf),
        ContentError::NameMismatch {
            named: MediaType::Jpeg,
            detected: MediaType::Pdf
        }
    );
    assert_eq!(
        refusal(MediaType::Pdf, Some("notes.txt"), b"plain words"),
        ContentError::DeclaredMismatch {
            declared: MediaType::Pdf,
            detected: MediaType::PlainText
        }
    );
    // An unknown or absent extension contradicts nothing.
    for name in ["x.bin", "x", "report.final"] {
        assert_eq!(
            inspect(MediaType::Pdf, Some(name), pdf, 3).0,
            Ok(MediaType::Pdf)
        );
    }
}

#[test]
fn types_off_the_allow_list_are_refused() {
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(64, 0);
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00payload";
    let html = b"<!DOCTYPE html><html><script>alert(1)</script></html>";
    let cases: [(&[u8], MediaType, &str); 3] = [
        (&elf, MediaType::Pdf, "application/x-executable"),
        (zip, MediaType::Pdf, "application/zip"),
        (html, MediaType::PlainText, "text/html"),
    ];
    for (bytes, declared, mime) in cases {
        assert_eq!(
            refusal(declared, None, bytes),
            ContentError::NotAllowed {
                detected: Some(mime)
            }
        );
    }
    assert_eq!(
        refusal(MediaType::Pdf, None, b"\x01\x02\x03\x04 unknown"),
        ContentError::NotAllowed { detected: None }
    );
}

#[test]
fn broken_structures_are_malformed() {
    let jpeg = join(&jpeg_pieces(), true);
    let png = join(&png_pieces(), true);
    let webp = webp();
    let cases: [(&[u8], MediaType, &str); 8] = [
        (
            &jpeg[..40],
            MediaType::Jpeg,
            "a JPEG segment runs past the end",
        ),
        (
            &jpeg[..jpeg.len() - 2],
            MediaType::Jpeg,
            "the JPEG ends before its EOI marker",
        ),
        (
            &[&jpeg[..20], b"\x00garbage"].concat(),
            MediaType::Jpeg,
            "a JPEG segment is not followed by a marker",
        ),
        (&png[..60], MediaType::Png, "a PNG chunk runs past the end"),
        (
            &[&png[..8], b"\x00\x00\x00\x01IH\x00R"].concat(),
            MediaType::Png,
            "a PNG chunk type is invalid",
        ),
        (
            &webp[..70],
            MediaType::Webp,
            "the WebP ends before its RIFF container does",
        ),
        (
            &[b"RIFF\x10\0\0\0WEBPVP8L\xff\0\0\0".as_slice(), &[0; 20]].concat(),
            MediaType::Webp,
            "a WebP chunk runs past the end of its RIFF container",
        ),
        (b"", MediaType::Pdf, "the document is empty"),
    ];
    for (bytes, declared, why) in cases {
        assert_eq!(
            refusal(declared, None, bytes),
            ContentError::Malformed(why),
            "{why}"
        );
    }
}

#[test]
fn a_refusal_sticks_and_says_nothing_of_the_file() {
    let mut inspector = Inspector::new(MediaType::Pdf, Some("shelter-kisumu.jpg"));
    let mut out = Vec::new();
    let mut pdf = b"%PDF-1.7 secret words ".to_vec();
    pdf.resize(SNIFF_LEN + 1, b'x');
    let error = inspector.push(&pdf, &mut out).unwrap_err();
    assert_eq!(inspector.push(b"more", &mut out), Err(error.clone()));
    let debug = format!("{inspector:?}");
    assert_eq!(inspector.finish(&mut out), Err(error.clone()));
    for text in [error.to_string(), debug] {
        assert!(!text.contains("shelter") && !text.contains("kisumu") && !text.contains("secret"));
        assert!(
            text.contains("image/jpeg") && text.contains("application/pdf"),
            "{text}"
        );
    }
    let held = Inspector::new(MediaType::PlainText, Some("diary.txt"));
    let mut held_out = Vec::new();
    let mut held = held;
    held.push(b"secret words", &mut held_out).unwrap();
    assert!(!format!("{held:?}").contains("secret"));
}

#[test]
fn memory_stays_bounded_whatever_the_size() {
    // 4 MiB of JPEG scan data and 4 MiB of text: past the head, every byte pushed comes out
    // at once (nothing accumulates inside), and the head never grows past SNIFF_LEN.
    let pieces = jpeg_pieces();
    let header = join(&pieces[..pieces.len() - 2], true);
    for (declared, start) in [
        (MediaType::Jpeg, header),
        (MediaType::PlainText, Vec::new()),
    ] {
        let mut inspector = Inspector::new(declared, None);
        let mut out = Vec::new();
        inspector.push(&start, &mut out).unwrap();
        let (mut pushed, mut emitted) = (start.len(), 0);
        for _ in 0..1024 {
            inspector.push(&[0x3F; 4096], &mut out).unwrap();
            pushed += 4096;
            emitted += out.len();
            out.clear();
            match &inspector.state {
                State::Sniffing(head) => {
                    assert!(head.capacity() <= SNIFF_LEN && pushed < SNIFF_LEN);
                }
                State::Passing(..) => assert_eq!(emitted, pushed),
                State::Failed(error) => panic!("{error}"),
            }
        }
    }
    assert!(std::mem::size_of::<Inspector>() < 256);
}

#[test]
fn media_types_round_trip_and_accept_aliases() {
    for media in MediaType::ALL {
        assert_eq!(MediaType::from_mime(media.mime()), Some(media));
        let name = format!("file.{}", media.extension().to_uppercase());
        assert_eq!(MediaType::from_file_name(&name), Some(media));
    }
    let aliases = [
        ("image/JPG", MediaType::Jpeg),
        ("Image/Jpeg; charset=binary", MediaType::Jpeg),
        ("text/plain; charset=utf-8", MediaType::PlainText),
        ("image/heif", MediaType::Heic),
        ("audio/x-wav", MediaType::Wav),
        ("audio/x-m4a", MediaType::M4a),
        ("audio/mp4", MediaType::M4a),
        ("audio/mp3", MediaType::Mp3),
        ("audio/opus", MediaType::Ogg),
        ("audio/x-flac", MediaType::Flac),
    ];
    for (mime, media) in aliases {
        assert_eq!(MediaType::from_mime(mime), Some(media), "{mime}");
    }
    for mime in [
        "application/octet-stream",
        "text/html",
        "image/svg+xml",
        "",
        "video/mp4",
    ] {
        assert_eq!(MediaType::from_mime(mime), None, "{mime}");
    }
    for name in [
        "README",
        "archive.tar.gz",
        "x.",
        ".jpg",
        "a.b/c",
        "photo.jpeg.exe",
    ] {
        assert_eq!(MediaType::from_file_name(name), None, "{name}");
    }
    assert_eq!(MediaType::from_file_name("a.b.jpeg"), Some(MediaType::Jpeg));
    assert_eq!(
        MediaType::from_file_name("voice.opus"),
        Some(MediaType::Ogg)
    );
    assert!(MediaType::Webp.is_image() && !MediaType::Pdf.is_image());
    assert_eq!(MediaType::ALL.iter().filter(|m| m.is_image()).count(), 4);
}
