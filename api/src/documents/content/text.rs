//! Validating plain text as it streams: UTF-8 (no overlong forms, surrogates or code points
//! past U+10FFFF), without NUL or other control characters than tab, LF, FF and CR.
//!
//! The decoder is a small state machine over bytes, so a code point split across pushes is
//! checked like any other and only its state (not its bytes) is kept between pushes.

use super::ContentError;

/// The state of the UTF-8 check between pushes: how many continuation bytes are still due and
/// the range the next one must fall in (which is how overlong forms, surrogates, code points
/// past U+10FFFF and the C1 controls are refused without decoding the code point).
#[derive(Debug, Clone, Copy)]
pub(super) struct Utf8Text {
    due: u8,
    low: u8,
    high: u8,
}

impl Default for Utf8Text {
    fn default() -> Utf8Text {
        Utf8Text {
            due: 0,
            low: 0x80,
            high: 0xBF,
        }
    }
}

impl Utf8Text {
    /// Checks the next bytes.
    pub(super) fn push(&mut self, input: &[u8]) -> Result<(), ContentError> {
        for &byte in input {
            if self.due > 0 {
                if byte < self.low || byte > self.high {
                    return Err(ContentError::NotText);
                }
                self.due -= 1;
                self.low = 0x80;
                self.high = 0xBF;
                continue;
            }
            let (due, low, high) = match byte {
                b'\t' | b'\n' | 0x0C | b'\r' => continue,
                0x00..=0x1F | 0x7F => return Err(ContentError::NotText),
                0x20..=0x7E => continue,
                // U+0080..U+009F, the C1 controls, are C2 80..C2 9F: C2 takes A0..BF only.
                0xC2 => (1, 0xA0, 0xBF),
                0xC3..=0xDF => (1, 0x80, 0xBF),
                0xE0 => (2, 0xA0, 0xBF),
                0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
                // ED A0..ED BF would be the UTF-16 surrogates.
                0xED => (2, 0x80, 0x9F),
                0xF0 => (3, 0x90, 0xBF),
                0xF1..=0xF3 => (3, 0x80, 0xBF),
                0xF4 => (3, 0x80, 0x8F),
                // Continuation bytes without a lead, C0/C1 (overlong) and F5..FF.
                _ => return Err(ContentError::NotText),
            };
            self.due = due;
            self.low = low;
            self.high = high;
        }
        Ok(())
    }

    /// The end of the text: no code point may be left unfinished.
    pub(super) fn finish(self) -> Result<(), ContentError> {
        if self.due == 0 {
            Ok(())
        } else {
            Err(ContentError::NotText)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8]) -> Result<(), ContentError> {
        let mut text = Utf8Text::default();
        text.push(bytes)?;
        text.finish()
    }

    #[test]
    fn agrees_with_std_on_utf8_and_refuses_controls() {
        let good: [&[u8]; 5] = [
            b"plain ASCII\r\n",
            "Ünïcödé – “quotes” – 日本語 – 🙂".as_bytes(),
            "\u{a0}\u{7ff}\u{800}\u{d7ff}\u{e000}\u{fffd}\u{10000}\u{10ffff}".as_bytes(),
            b"tab\tform feed\x0c",
            b"",
        ];
        for bytes in good {
            assert_eq!(check(bytes), Ok(()), "{bytes:?}");
        }
        let bad: [&[u8]; 12] = [
            b"\x00",
            b"bell\x07",
            b"escape\x1b[31m",
            b"delete\x7f",
            "C1 \u{85}".as_bytes(),
            b"\xc0\xaf",         // overlong '/'
            b"\xe0\x80\xaf",     // overlong '/'
            b"\xed\xa0\x80",     // a surrogate
            b"\xf4\x90\x80\x80", // past U+10FFFF
            b"\xf8\x88\x80\x80\x80",
            b"\x80",         // a lone continuation byte
            b"cut \xe2\x82", // an unfinished code point at the end
        ];
        for bytes in bad {
            assert_eq!(check(bytes), Err(ContentError::NotText), "{bytes:?}");
        }
    }

    #[test]
    fn a_code_point_split_across_pushes_is_checked_whole() {
        let euro = "€".as_bytes();
        let mut text = Utf8Text::default();
        for byte in euro {
            text.push(std::slice::from_ref(byte)).unwrap();
        }
        assert_eq!(text.finish(), Ok(()));

        let mut text = Utf8Text::default();
        text.push(&euro[..1]).unwrap();
        assert_eq!(text.push(b"a"), Err(ContentError::NotText));
    }
}
