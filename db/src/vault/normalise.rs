//! How names and numbers are normalised before a blind index is computed, so that the same
//! person written two ways finds the same index value.
//!
//! [`normalise`]: Unicode compatibility decomposition (NFKD, which also folds full-width and
//! ligature forms as NFKC would), accents dropped (combining marks removed), lower-cased (Rust's
//! full Unicode lower-casing, which equals case folding for every script East African records
//! use), apostrophes dropped (`N'Dri` = `Ndri`), every other punctuation and white space run
//! collapsed to one space, trimmed.
//!
//! [`phonetic_key`]: a per-token key for names transliterated differently. East African names
//! reach the registry through Luganda, Swahili, Luo, Kinyarwanda, Somali and Arabic spelling
//! habits, so the key folds exactly the variations those produce:
//!
//! 1. `ph` → `f`; `ch`/`tch` → `c` (Luo `Acen` = Swahili `Achen`); `ck`, `q`, `kh` → `k`;
//!    `gh` → `g`; `th` → `t`; `dh` → `d`; `x` → `ks`;
//! 2. `r` → `l` (Luganda and Kinyarwanda do not distinguish them: `Namubiru` = `Namubilu`);
//! 3. after the first letter, vowels and `y`, `w`, `h` are dropped (`Mohammed`, `Muhammad`,
//!    `Mohamed` → `mhmd`; `Nyanzi` = `Nanzi`);
//! 4. runs of one letter collapse (`Ssemakula` = `Semakula`, `Nakkato` = `Nakato`);
//! 5. digits are dropped and tokens of fewer than two letters (initials) yield no key.
//!
//! What it leaks: the index stores one truncated HMAC per phonetic token, so someone holding
//! the database learns that two cases share a name token that sounds alike (not which one),
//! how many tokens a case's names have, and, by frequency, which cases carry the commonest
//! name sounds. The HMAC key keeps the token itself hidden; truncation to 16 bits merges
//! unrelated tokens so a shared value is not proof of a shared name.

use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

/// Normalises free text for a blind index (see the module documentation).
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        if matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{02bc}' | '`') {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out.nfc().collect()
}

/// Normalises a person's full name: [`normalise`], then tokens sorted, so that the order in
/// which given names and surnames were written does not matter (Ugandan records often put the
/// surname first).
pub fn normalise_name(name: &str) -> String {
    let normalised = normalise(name);
    let mut tokens: Vec<&str> = normalised.split(' ').filter(|t| !t.is_empty()).collect();
    tokens.sort_unstable();
    tokens.join(" ")
}

/// Normalises an identity-document number: [`normalise`], then every space removed
/// (`B 123-456` = `b123456`).
pub fn normalise_document(number: &str) -> String {
    normalise(number).replace(' ', "")
}

/// The phonetic keys of a name's tokens, duplicates removed, in sorted order.
pub fn phonetic_keys(name: &str) -> Vec<String> {
    let mut keys: Vec<String> = normalise(name)
        .split(' ')
        .filter_map(phonetic_key)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The phonetic key of one normalised token, or `None` when it is too short to say anything.
pub fn phonetic_key(token: &str) -> Option<String> {
    let letters: Vec<char> = token.chars().filter(char::is_ascii_lowercase).collect();
    let mut mapped: Vec<char> = Vec::with_capacity(letters.len());
    let mut i = 0;
    while i < letters.len() {
        let next = letters.get(i + 1).copied();
        let after = letters.get(i + 2).copied();
        let (out, consumed): (&[char], usize) = match (letters[i], next, after) {
            ('t', Some('c'), Some('h')) => (&['c'], 3),
            ('p', Some('h'), _) => (&['f'], 2),
            ('c', Some('h'), _) => (&['c'], 2),
            ('c', Some('k'), _) => (&['k'], 2),
            ('k', Some('h'), _) => (&['k'], 2),
            ('g', Some('h'), _) => (&['g'], 2),
            ('t', Some('h'), _) => (&['t'], 2),
            ('d', Some('h'), _) => (&['d'], 2),
            ('q', _, _) => (&['k'], 1),
            ('x', _, _) => (&['k', 's'], 1),
            ('r', _, _) => (&['l'], 1),
            (c, _, _) => {
                mapped.push(c);
                i += 1;
                continue;
            }
        };
        mapped.extend_from_slice(out);
        i += consumed;
    }
    let mut key = String::with_capacity(mapped.len());
    for (position, c) in mapped.into_iter().enumerate() {
        if position > 0 && matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'w' | 'h') {
            continue;
        }
        if key.ends_with(c) {
            continue;
        }
        key.push(c);
    }
    (key.len() >= 2).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_folds_case_accents_punctuation_and_space() {
        assert_eq!(normalise("  NAKATO   Namubiru "), "nakato namubiru");
        assert_eq!(normalise("Amélie-Nakato"), "amelie nakato");
        assert_eq!(normalise("N'Dri O’Brien"), "ndri obrien");
        assert_eq!(
            normalise("ＮＡＫＡＴＯ"),
            "nakato",
            "full-width forms fold (NFKC)"
        );
        assert_eq!(normalise("Zoë\tOkello,\nJr."), "zoe okello jr");
        assert_eq!(
            normalise("ǅemal"),
            "dzemal",
            "compatibility ligatures decompose"
        );
        assert_eq!(normalise("..."), "");
    }

    #[test]
    fn names_ignore_token_order_and_documents_ignore_separators() {
        assert_eq!(
            normalise_name("Namubiru, Nakato"),
            normalise_name("nakato NAMUBIRU")
        );
        assert_eq!(normalise_document("B 123-456/7"), "b1234567");
        assert_eq!(normalise_document("b1234567"), "b1234567");
    }

    #[test]
    fn east_african_spelling_variants_share_a_key() {
        let same = |a: &str, b: &str| {
            assert_eq!(phonetic_keys(a), phonetic_keys(b), "{a} / {b}");
        };
        same("Mohammed", "Muhammad");
        same("Mohamed", "Mohammed");
        same("Ssemakula", "Semakula");
        same("Namubiru", "Namubilu");
        same("Nakato", "Nakkato");
        same("Achieng", "Acieng");
        same("Acen", "Achen");
        same("Philip", "Filip");
        same("Nyanzi", "Nanzi");
        same("Kyomuhendo", "Kiomuhendo");
        same("Abdul Rahman", "Abdoul Rahmane");
        same("Mukhtar", "Muktar");
        let differ = |a: &str, b: &str| {
            assert_ne!(phonetic_keys(a), phonetic_keys(b), "{a} / {b}");
        };
        differ("Nakato", "Namubiru");
        differ("Okello", "Opio");
        differ("Akinyi", "Atieno");
    }

    #[test]
    fn initials_and_digits_yield_no_key() {
        assert_eq!(phonetic_keys("J. K 7"), Vec::<String>::new());
        assert_eq!(phonetic_keys("Nakato Nakato"), vec!["nkt".to_owned()]);
    }
}
