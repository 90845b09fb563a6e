//! Tables as CSV (RFC 4180), safe to open in a spreadsheet: a field that a spreadsheet would
//! read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed
//! with an apostrophe (OWASP, CSV injection).

use super::Table;

/// One field, quoted when needed and defused when it could be read as a formula.
pub fn field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) || defused != defused.trim() {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// The table as CSV: one row per entry, `all` for a total, an empty count when suppressed. A
/// dimension whose values have names (organisations) is followed by a `_name` column.
pub fn table(table: &Table) -> String {
    let mut out = String::new();
    let named: Vec<bool> = table
        .values
        .iter()
        .map(|values| values.iter().any(|v| table.labels.contains_key(v)))
        .collect();
    let mut header = Vec::new();
    for (dimension, named) in table.dimensions.iter().zip(&named) {
        header.push(field(dimension));
        if *named {
            header.push(field(&format!("{dimension}_name")));
        }
    }
    header.extend(["count".to_owned(), "suppressed".to_owned()]);
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for entry in &table.entries {
        let mut row = Vec::new();
        for (value, named) in entry.values.iter().zip(&named) {
            row.push(field(value.as_deref().unwrap_or("all")));
            if *named {
                let name = value.as_ref().and_then(|v| table.labels.get(v));
                row.push(field(name.map_or("", String::as_str)));
            }
        }
        row.push(entry.count.map(|c| c.to_string()).unwrap_or_default());
        row.push(entry.suppressed.unwrap_or("").to_owned());
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_commas_quoted() {
        assert_eq!(field("Kampala"), "Kampala");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+256"), "'+256");
        assert_eq!(field("-1"), "'-1");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("Gulu, Acholi"), "\"Gulu, Acholi\"");
    }
}
