//! The repository's documentation stays navigable: every relative link in every Markdown file
//! points to a file or folder of the repository, and every `#anchor` to a heading of the
//! Markdown file it names; and no text file sends its reader to notes outside the repository,
//! which are not shipped with it. Plain tests over the working tree: no server, no database.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// Names of notes kept outside the repository. Built from pieces, so that this file does not
/// name them itself.
const OUTSIDE_NOTES: [&str; 2] = [concat!("DESIGN", ".md"), concat!("..", "/shared")];

/// The extensions of the text files searched for [`OUTSIDE_NOTES`] (besides `.ci/run`).
const TEXT_EXTENSIONS: [&str; 6] = ["md", "rs", "toml", "cedar", "cedarschema", "sql"];

/// The repository's root: the tests crate is `<root>/tests`.
fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits inside the repository")
        .to_path_buf()
}

/// Folders never walked: build output, git's own store, and what a development run writes
/// (all ignored by git).
fn skipped(relative: &Path) -> bool {
    let name = relative.file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(name, ".git" | "target" | "node_modules")
        || [
            Path::new("data"),
            Path::new("outbox"),
            Path::new("tests/data"),
        ]
        .contains(&relative)
}

/// Every file of the repository, as paths relative to `root`, in a stable order.
fn repository_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![PathBuf::new()];
    while let Some(folder) = folders.pop() {
        let entries = fs::read_dir(root.join(&folder))
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", folder.display()));
        for entry in entries {
            let entry = entry.expect("a directory entry");
            let relative = folder.join(entry.file_name());
            let kind = entry.file_type().expect("a file type");
            if kind.is_dir() {
                if !skipped(&relative) {
                    folders.push(relative);
                }
            } else if kind.is_file() {
                files.push(relative);
            }
        }
    }
    files.sort();
    files
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some(extension)
}

/// The lines of a Markdown text outside fenced code blocks, with their numbers (from 1).
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<(char, usize)> = None;
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        if let Some(marker) = marker.filter(|_| indent <= 3) {
            let run = trimmed.chars().take_while(|c| *c == marker).count();
            if run >= 3 {
                match fence {
                    None => {
                        fence = Some((marker, run));
                        continue;
                    }
                    Some((open, length))
                        if open == marker && run >= length && trimmed[run..].trim().is_empty() =>
                    {
                        fence = None;
                        continue;
                    }
                    Some(_) => {}
                }
            }
        }
        if fence.is_none() {
            lines.push((index + 1, line));
        }
    }
    lines
}

/// Where the next run of exactly `run` backticks starts in `text`.
fn closing_backticks(text: &str, run: usize) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find('`') {
        let start = from + found;
        let length = text[start..].chars().take_while(|c| *c == '`').count();
        if length == run {
            return Some(start);
        }
        from = start + length;
    }
    None
}

/// A line without its code spans: inside backticks, brackets are text, not links.
fn without_code_spans(line: &str) -> String {
    let mut kept = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        kept.push_str(&rest[..start]);
        let run = rest[start..].chars().take_while(|c| *c == '`').count();
        let after = &rest[start + run..];
        match closing_backticks(after, run) {
            Some(end) => rest = &after[end + run..],
            None => {
                kept.push_str(&rest[start..start + run]);
                rest = after;
            }
        }
    }
    kept.push_str(rest);
    kept
}

/// A link's destination without its title: `<a b>`, or the text up to the first space.
fn destination(inside: &str) -> String {
    let inside = inside.trim();
    match inside.strip_prefix('<') {
        Some(bracketed) => bracketed.split('>').next().unwrap_or_default().to_owned(),
        None => inside
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The destinations of the inline links and images on a line (`[text](target)`,
/// `![alt](target)`), of a reference definition (`[label]: target`), and of HTML `href` and
/// `src` attributes.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code_spans(line);
    let mut targets = Vec::new();
    let mut rest = line.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let mut depth = 0usize;
        let mut end = None;
        for (index, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = Some(index);
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let Some(end) = end else { break };
        targets.push(destination(&after[..end]));
        rest = &after[end + 1..];
    }
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() <= 3
        && let Some(label) = trimmed.strip_prefix('[')
        && let Some(close) = label.find("]:")
        && close > 0
        && !label[..close].contains(']')
        && !label.starts_with('^')
    {
        targets.push(destination(&label[close + 2..]));
    }
    for attribute in ["href=\"", "src=\""] {
        let mut rest = line.as_str();
        while let Some(at) = rest.find(attribute) {
            let after = &rest[at + attribute.len()..];
            let Some(end) = after.find('"') else { break };
            targets.push(after[..end].to_owned());
            rest = &after[end + 1..];
        }
    }
    targets
}

/// A heading's text as GitHub renders it: a link by its text, emphasis and code marks kept for
/// [`slug`] to drop.
fn heading_text(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let level = trimmed.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &trimmed[level..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    let mut text = rest.trim().trim_end_matches('#').trim_end().to_owned();
    // `[label](target)` renders as `label`.
    while let Some(at) = text.find("](") {
        let Some(open) = text[..at].rfind('[') else {
            break;
        };
        let Some(close) = text[at..].find(')') else {
            break;
        };
        let label = text[open + 1..at].to_owned();
        text.replace_range(open..at + close + 1, &label);
    }
    Some(text)
}

/// GitHub's anchor for a heading: lower case, spaces to hyphens, every other character that is
/// not a letter, a digit, a hyphen or an underscore removed.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor a Markdown text defines: its headings (a repeated heading gets `-1`, `-2`, ...
/// as on GitHub), and HTML `id` and `name` attributes.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        if let Some(heading) = heading_text(line) {
            let base = slug(&heading);
            let count = seen.entry(base.clone()).or_insert(0);
            anchors.insert(if *count == 0 {
                base.clone()
            } else {
                format!("{base}-{count}")
            });
            *count += 1;
        }
        for attribute in ["id=\"", "name=\""] {
            let mut rest = line;
            while let Some(at) = rest.find(attribute) {
                let after = &rest[at + attribute.len()..];
                let Some(end) = after.find('"') else { break };
                anchors.insert(after[..end].to_owned());
                rest = &after[end + 1..];
            }
        }
    }
    anchors
}

/// Whether a link leaves the repository by a scheme (`https:`, `mailto:`, ...).
fn is_external(target: &str) -> bool {
    target.split_once(':').is_some_and(|(scheme, _)| {
        scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// The repository path a relative link names, from the folder of the file it is in; `None`
/// when it climbs out of the repository.
fn resolve(folder: &Path, target: &str) -> Option<PathBuf> {
    let decoded = target.replace("%20", " ");
    let mut parts: Vec<OsString> = if decoded.starts_with('/') {
        Vec::new()
    } else {
        folder.iter().map(OsString::from).collect()
    };
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(name) => parts.push(name.to_owned()),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// A relative link found in a Markdown file.
struct Link {
    /// The Markdown file and the line, for messages.
    at: String,
    /// The link as written.
    target: String,
    /// The file it names, relative to the root (the Markdown file itself for `#anchor`).
    file: Option<PathBuf>,
    /// The anchor it names, if any.
    anchor: Option<String>,
}

/// Every relative link of every Markdown file of the repository, and how many files were read.
fn relative_links(root: &Path) -> (Vec<Link>, usize) {
    let markdown: Vec<PathBuf> = repository_files(root)
        .into_iter()
        .filter(|p| has_extension(p, "md"))
        .collect();
    let mut links = Vec::new();
    for file in &markdown {
        let text = fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let folder = file.parent().unwrap_or(Path::new(""));
        for (number, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if is_external(&target) {
                    continue;
                }
                let (path, anchor) = match target.split_once('#') {
                    Some((path, anchor)) => (path, Some(anchor.to_owned())),
                    None => (target.as_str(), None),
                };
                let path = path.split('?').next().unwrap_or_default();
                let resolved = if path.is_empty() && anchor.is_some() {
                    Some(file.clone())
                } else if path.is_empty() {
                    None
                } else {
                    resolve(folder, path)
                };
                links.push(Link {
                    at: format!("{}:{number}", file.display()),
                    target: target.clone(),
                    file: resolved,
                    anchor,
                });
            }
        }
    }
    (links, markdown.len())
}

#[test]
fn every_relative_link_names_a_file_of_the_repository() {
    let root = repository_root();
    let (links, files) = relative_links(&root);
    assert!(
        files >= 7,
        "found only {files} Markdown files under {}",
        root.display()
    );
    assert!(!links.is_empty(), "no relative links found at all");
    let broken: Vec<String> = links
        .iter()
        .filter_map(|link| match &link.file {
            None if link.target.is_empty() => Some(format!("{}: an empty link", link.at)),
            None => Some(format!(
                "{}: `{}` points outside the repository",
                link.at, link.target
            )),
            Some(file) if !root.join(file).exists() => Some(format!(
                "{}: `{}` names {}, which does not exist",
                link.at,
                link.target,
                file.display()
            )),
            Some(_) => None,
        })
        .collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_anchor_names_a_heading_of_its_file() {
    let root = repository_root();
    let (links, _) = relative_links(&root);
    let mut headings: HashMap<PathBuf, BTreeSet<String>> = HashMap::new();
    let mut broken = Vec::new();
    let mut checked = 0;
    for link in &links {
        let (Some(file), Some(anchor)) = (&link.file, &link.anchor) else {
            continue;
        };
        if !has_extension(file, "md") || !root.join(file).is_file() {
            continue;
        }
        let known = headings.entry(file.clone()).or_insert_with(|| {
            anchors(&fs::read_to_string(root.join(file)).expect("a Markdown file"))
        });
        checked += 1;
        if !known.contains(anchor.as_str()) {
            broken.push(format!(
                "{}: `{}`: {} has no heading with the anchor #{anchor}",
                link.at,
                link.target,
                file.display()
            ));
        }
    }
    assert!(checked > 0, "no anchor links found at all");
    assert!(
        broken.is_empty(),
        "anchors without a heading:\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_text_file_points_to_notes_outside_the_repository() {
    let root = repository_root();
    let searched: Vec<PathBuf> = repository_files(&root)
        .into_iter()
        .filter(|p| {
            p == Path::new(".ci/run") || TEXT_EXTENSIONS.iter().any(|e| has_extension(p, e))
        })
        .collect();
    assert!(
        searched.iter().any(|p| p == Path::new("README.md")),
        "the walk missed README.md"
    );
    let mut found = Vec::new();
    for file in &searched {
        let Ok(text) = fs::read_to_string(root.join(file)) else {
            continue;
        };
        for (index, line) in text.lines().enumerate() {
            for name in OUTSIDE_NOTES {
                if line.contains(name) {
                    found.push(format!(
                        "{}:{}: mentions `{name}`",
                        file.display(),
                        index + 1
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the repository must not point to notes it does not ship:\n{}",
        found.join("\n")
    );
}

#[test]
fn links_are_read_as_markdown_renders_them() {
    let text = "# Keys and their backups\n\
                See [ops](operations.md#rotation \"title\") and `[not](a-link.md)`.\n\
                ```\n[inside](a-fence.md)\n```\n\
                [label]: <docs/a b.md>\n\
                ## The `tumaini` command: *audit*\n\
                ## Keys and their backups\n";
    let lines = prose_lines(text);
    let targets: Vec<String> = lines.iter().flat_map(|(_, l)| link_targets(l)).collect();
    assert_eq!(targets, ["operations.md#rotation", "docs/a b.md"]);
    let anchors = anchors(text);
    for expected in [
        "keys-and-their-backups",
        "keys-and-their-backups-1",
        "the-tumaini-command-audit",
    ] {
        assert!(anchors.contains(expected), "{expected} in {anchors:?}");
    }
    assert_eq!(
        slug("7. Rights of data subjects"),
        "7-rights-of-data-subjects"
    );
    assert!(is_external("https://example.org/x") && is_external("mailto:a@b.c"));
    assert!(!is_external("docs/operations.md"));
    assert_eq!(
        resolve(Path::new("docs"), "../policies/README.md"),
        Some(PathBuf::from("policies/README.md"))
    );
    assert_eq!(resolve(Path::new("docs"), "../../elsewhere/x.md"), None);
}
