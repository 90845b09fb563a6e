//! Test images assembled byte by byte, each carrying EXIF with a GPS latitude (and XMP,
//! comments, text chunks, trailers): the pieces the strippers must drop are marked.

/// The GPS latitude 51° 30′ 26.99″ as three big-endian RATIONALs: what must not survive.
pub(super) const LATITUDE: [u8; 24] = [
    0, 0, 0, 51, 0, 0, 0, 1, 0, 0, 0, 30, 0, 0, 0, 1, 0, 0, 0x0A, 0x8B, 0, 0, 0, 100,
];

/// A big-endian TIFF structure (EXIF's) whose IFD0 points to a GPS IFD with a latitude.
pub(super) fn tiff_with_gps() -> Vec<u8> {
    let mut t = b"MM\x00\x2A\x00\x00\x00\x08".to_vec();
    // IFD0 at 8: one entry, GPSInfo (0x8825, LONG) -> the GPS IFD at 26.
    t.extend_from_slice(&[0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    // GPS IFD at 26: GPSLatitudeRef "N", GPSLatitude (3 RATIONALs at 56).
    t.extend_from_slice(&[0, 2, 0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    t.extend_from_slice(&[0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 56, 0, 0, 0, 0]);
    assert_eq!(t.len(), 56);
    t.extend_from_slice(&LATITUDE);
    t
}

pub(super) fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let length = u16::try_from(payload.len() + 2).unwrap().to_be_bytes();
    [&[0xFF, marker, length[0], length[1]][..], payload].concat()
}

/// A valid 8×8 grey baseline JPEG, as (bytes, kept?) pieces: the stripper's output must be
/// exactly the kept pieces.
pub(super) fn jpeg_pieces() -> Vec<(Vec<u8>, bool)> {
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&tiff_with_gps());
    let huffman = |class: u8| {
        let mut table = vec![class, 1];
        table.extend_from_slice(&[0; 15]);
        table.push(0);
        table
    };
    vec![
        (vec![0xFF, 0xD8], true),
        (
            jpeg_segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"),
            true,
        ),
        (jpeg_segment(0xE1, &exif), false),
        (
            jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"),
            false,
        ),
        (
            jpeg_segment(0xE2, b"ICC_PROFILE\0\x01\x01fake profile"),
            true,
        ),
        (jpeg_segment(0xE2, b"MPF\0\x4D\x4D\0\x2A"), false),
        (jpeg_segment(0xE2, b"ICC"), false),
        (jpeg_segment(0xEE, b"Adobe\0\x64\0\0\0\0\0"), true),
        (jpeg_segment(0xED, b"Photoshop 3.0\0"), false),
        (jpeg_segment(0xFE, b"taken at the shelter"), false),
        (
            jpeg_segment(0xDB, &[[0_u8].as_slice(), &[1; 64]].concat()),
            true,
        ),
        (jpeg_segment(0xC0, &[8, 0, 8, 0, 8, 1, 1, 0x11, 0]), true),
        (jpeg_segment(0xC4, &huffman(0x00)), true),
        (jpeg_segment(0xC4, &huffman(0x10)), true),
        // Fill bytes before a marker are allowed, and not kept.
        (vec![0xFF, 0xFF], false),
        (jpeg_segment(0xDA, &[1, 1, 0, 0, 63, 0]), true),
        // DC difference 0 ("0"), end of block ("0"), padded with ones.
        (vec![0x3F, 0xFF, 0xD9], true),
        (b"\xFF\xE1 appended after EOI".to_vec(), false),
    ]
}

pub(super) fn join(pieces: &[(Vec<u8>, bool)], kept_only: bool) -> Vec<u8> {
    pieces
        .iter()
        .filter(|(_, kept)| *kept || !kept_only)
        .flat_map(|(bytes, _)| bytes.iter().copied())
        .collect()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&chunk[4..]).to_be_bytes());
    chunk
}

/// A valid 1×1 grey PNG (pixel 0x80) with every metadata chunk, as (bytes, kept?) pieces.
pub(super) fn png_pieces() -> Vec<(Vec<u8>, bool)> {
    // zlib, one stored block of the filtered row [0, 0x80], then its Adler-32.
    let idat = [
        0x78, 0x01, 0x01, 0x02, 0x00, 0xFD, 0xFF, 0x00, 0x80, 0x00, 0x82, 0x00, 0x81,
    ];
    vec![
        (b"\x89PNG\r\n\x1a\n".to_vec(), true),
        (
            png_chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]),
            true,
        ),
        (png_chunk(b"eXIf", &tiff_with_gps()), false),
        (png_chunk(b"tEXt", b"Comment\0taken at the shelter"), false),
        (png_chunk(b"zTXt", b"Comment\0\0\x78\x01"), false),
        (
            png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>"),
            false,
        ),
        (png_chunk(b"tIME", &[0x07, 0xEA, 12, 7, 11, 30, 0]), false),
        (png_chunk(b"gAMA", &[0, 0, 0xB1, 0x8F]), true),
        (png_chunk(b"IDAT", &idat), true),
        (png_chunk(b"IEND", &[]), true),
        (b"appended after IEND".to_vec(), false),
    ]
}

fn riff_chunk(fourcc: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = fourcc.to_vec();
    chunk.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    chunk.extend_from_slice(data);
    if data.len() % 2 == 1 {
        chunk.push(0);
    }
    chunk
}

/// An extended WebP (VP8X with the EXIF and XMP flags, and alpha) carrying EXIF and XMP, and
/// junk after the container.
pub(super) fn webp() -> Vec<u8> {
    let vp8x = [0x10 | 0x08 | 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let body = [
        b"WEBP".to_vec(),
        riff_chunk(b"VP8X", &vp8x),
        riff_chunk(b"VP8L", b"\x2f\0\0\0\0\x07"),
        riff_chunk(b"EXIF", &tiff_with_gps()),
        riff_chunk(b"XMP ", b"<x:xmpmeta>shelter</x:xmpmeta>!"),
    ]
    .concat();
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    file.extend_from_slice(&body);
    file.extend_from_slice(b"appended after the container");
    file
}
