//! HEIC: a file assembled box by box, its EXIF item (with GPS) in `mdat` or in `idat`, and an
//! XMP item; after the Inspector their bytes are zeros and nothing else changed.

use super::fixtures::{LATITUDE, tiff_with_gps};
use super::{exif_of, holds, refusal, sanitise};
use crate::documents::content::{ContentError, MediaType};

fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let size = u32::try_from(body.len() + 8).unwrap().to_be_bytes();
    [&size[..], kind, body].concat()
}

fn full(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
    boxed(kind, &[&[version, 0, 0, 0][..], body].concat())
}

/// The EXIF item's data: the offset of the TIFF header, "Exif\0\0", the TIFF structure.
fn exif_item() -> Vec<u8> {
    [&[0, 0, 0, 6][..], b"Exif\0\0", &tiff_with_gps()].concat()
}

const XMP: &[u8] = b"<x:xmpmeta>taken at the shelter</x:xmpmeta>";
const IMAGE: &[u8] = b"hvc1 coded image data, kept as it is";

fn infe(id: u8, kind: &[u8; 4], extra: &[u8]) -> Vec<u8> {
    full(
        b"infe",
        2,
        &[&[0, id, 0, 0][..], kind, b"\0", extra].concat(),
    )
}

/// One `iloc` (version 1) entry: item, construction method, one extent of 4-byte fields.
fn location(id: u8, method: u8, offset: usize, length: usize) -> Vec<u8> {
    let offset = u32::try_from(offset).unwrap().to_be_bytes();
    let length = u32::try_from(length).unwrap().to_be_bytes();
    [&[0, id, 0, method, 0, 0, 0, 1][..], &offset, &length].concat()
}

/// ftyp, meta, then mdat (the order phones write); and where the EXIF and XMP bytes are.
fn heic(move_mdat_first: bool, exif_in_idat: bool) -> Vec<u8> {
    let ftyp = boxed(b"ftyp", b"heic\0\0\0\0mif1heic");
    let build = |mdat_at: usize| {
        let mdat_body = mdat_at + 8;
        let (exif_location, idat) = if exif_in_idat {
            (
                location(1, 1, 0, exif_item().len()),
                boxed(b"idat", &exif_item()),
            )
        } else {
            (location(1, 0, mdat_body, exif_item().len()), Vec::new())
        };
        let xmp_at = mdat_body + if exif_in_idat { 0 } else { exif_item().len() };
        let iinf = full(
            b"iinf",
            0,
            &[
                &[0, 3][..],
                &infe(1, b"Exif", b""),
                &infe(2, b"mime", b"application/rdf+xml\0"),
                &infe(3, b"hvc1", b""),
            ]
            .concat(),
        );
        let iloc = full(
            b"iloc",
            1,
            &[
                &[0x44, 0x00, 0, 3][..],
                &exif_location,
                &location(2, 0, xmp_at, XMP.len()),
                &location(3, 0, xmp_at + XMP.len(), IMAGE.len()),
            ]
            .concat(),
        );
        let hdlr = full(b"hdlr", 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let pitm = full(b"pitm", 0, &[0, 3]);
        full(b"meta", 0, &[hdlr, pitm, iinf, iloc, idat].concat())
    };
    let exif_in_mdat = if exif_in_idat {
        Vec::new()
    } else {
        exif_item()
    };
    let mdat = boxed(b"mdat", &[&exif_in_mdat[..], XMP, IMAGE].concat());
    if move_mdat_first {
        let meta = build(ftyp.len());
        [ftyp, mdat, meta].concat()
    } else {
        let meta_len = build(0).len();
        let meta = build(ftyp.len() + meta_len);
        [ftyp, meta, mdat].concat()
    }
}

fn zeroed(bytes: &[u8], what: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(what.len())
        .position(|window| window == what)
        .unwrap();
    let mut out = bytes.to_vec();
    out[at..at + what.len()].fill(0);
    out
}

#[test]
fn a_heic_has_its_exif_and_xmp_items_zeroed_in_place() {
    for exif_in_idat in [false, true] {
        let original = heic(false, exif_in_idat);
        let exif = exif_of(&original).expect("the fixture's EXIF parses");
        assert!(
            exif.get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
                .is_some()
        );

        let out = sanitise(MediaType::Heic, Some("IMG_0042.HEIC"), &original);
        assert_eq!(out, zeroed(&zeroed(&original, &exif_item()), XMP));
        assert!(exif_of(&out).is_err());
        assert!(!holds(&out, &LATITUDE) && !holds(&out, b"shelter"));
        assert!(holds(&out, IMAGE));
    }
}

#[test]
fn a_heic_whose_metadata_cannot_be_zeroed_is_refused() {
    assert_eq!(
        refusal(MediaType::Heic, None, &heic(true, false)),
        ContentError::Malformed("a HEIC metadata item comes before its index")
    );
    let whole = heic(false, false);
    assert_eq!(
        refusal(
            MediaType::Heic,
            None,
            &whole[..whole.len() - IMAGE.len() - 20]
        ),
        ContentError::Malformed("the HEIC ends before its metadata items")
    );
    let mut huge = heic(false, false);
    let meta_at = 24; // after ftyp
    huge[meta_at..meta_at + 4].copy_from_slice(&(1_u32 << 20).to_be_bytes());
    assert_eq!(
        refusal(MediaType::Heic, None, &huge),
        ContentError::Malformed("the HEIC's meta box is too large")
    );
    let ftyp_only = boxed(b"ftyp", b"heic\0\0\0\0mif1heic");
    assert_eq!(
        refusal(MediaType::Heic, None, &ftyp_only),
        ContentError::Malformed("the HEIC has no meta box")
    );
}
