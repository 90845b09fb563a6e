//! Case references: short, unguessable, and safe to read over a bad phone line. Eight random
//! characters from an alphabet without look-alikes (no 0/O, 1/I/L, no U) and a Luhn mod 30
//! check character that catches a single mistyped character and most swaps. A reference says
//! nothing about the person or the case.

use rand::Rng as _;

/// Thirty characters that do not look or sound alike.
const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

fn value(c: u8) -> Option<usize> {
    ALPHABET.iter().position(|&a| a == c)
}

fn check_character(payload: &[u8]) -> Option<u8> {
    let n = ALPHABET.len();
    let mut factor = 2;
    let mut sum = 0;
    for &c in payload.iter().rev() {
        let mut addend = factor * value(c)?;
        factor = if factor == 2 { 1 } else { 2 };
        addend = addend / n + addend % n;
        sum += addend;
    }
    ALPHABET.get((n - sum % n) % n).copied()
}

/// A fresh reference, e.g. `K7QM-4XHD-R`, with `prefix` (`C` for cases, `N` for anonymous
/// notifications) in front: `C-K7QM-4XHD-R`.
pub fn generate(prefix: char) -> String {
    let mut rng = rand::rng();
    let payload: Vec<u8> = (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect();
    let check = check_character(&payload).map_or('2', char::from);
    let text = String::from_utf8_lossy(&payload).into_owned();
    format!("{prefix}-{}-{}-{check}", &text[..4], &text[4..])
}

/// Normalises what a person typed or heard (letter case, spaces, dashes) and checks the
/// check character; `None` when it cannot be a reference.
pub fn parse(text: &str) -> Option<String> {
    let cleaned: Vec<u8> = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| u8::try_from(c.to_ascii_uppercase()).unwrap_or(b'?'))
        .collect();
    let (&prefix, rest) = cleaned.split_first()?;
    if !matches!(prefix, b'C' | b'N' | b'R') || rest.len() != 9 {
        return None;
    }
    let (payload, check) = rest.split_at(8);
    if check_character(payload)? != check[0] {
        return None;
    }
    let text = String::from_utf8_lossy(payload).into_owned();
    Some(format!(
        "{}-{}-{}-{}",
        char::from(prefix),
        &text[..4],
        &text[4..],
        char::from(check[0])
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_references_parse_and_catch_typos() {
        for _ in 0..200 {
            let reference = generate('C');
            assert_eq!(reference.len(), 13);
            assert_eq!(parse(&reference).as_deref(), Some(reference.as_str()));
            assert_eq!(
                parse(&reference.to_lowercase().replace('-', " ")).as_deref(),
                Some(reference.as_str())
            );
            // One character changed is caught.
            let mut bytes = reference.clone().into_bytes();
            let original = bytes[3];
            bytes[3] = if original == b'2' { b'3' } else { b'2' };
            assert_eq!(parse(&String::from_utf8(bytes).unwrap()), None);
        }
        assert_eq!(parse("C-0000-0000-0"), None, "no look-alikes");
        assert_eq!(parse("X-2345-6789-A"), None);
    }
}
