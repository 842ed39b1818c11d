//! From byte spans to what a user can find in their editor: line, column and key path.

use serde::Deserialize;
use serde::de::{MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use super::Location;

/// The text being parsed and its name, for turning spans into [`super::ConfigError`]s.
pub(crate) struct Source<'a> {
    pub(crate) text: &'a str,
    pub(crate) file: &'a str,
}

impl<'a> Source<'a> {
    pub(crate) fn new(text: &'a str, file: &'a str) -> Self {
        Source { text, file }
    }

    /// Line and column of the byte at `offset` (clamped to the text).
    pub(crate) fn location(&self, offset: usize) -> Location {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// The key path of every key (and array element) in a document, by where it starts.
///
/// serde reports an unknown key or a wrong type with a span but not with the
/// path of tables that leads to it; this index, built from a second,
/// schema-free parse, supplies the path. Best effort: it is empty if that parse
/// fails (a date-time value, which toml presents as a table without spans).
pub(crate) struct KeyIndex {
    entries: Vec<(usize, String)>,
}

impl KeyIndex {
    pub(crate) fn build(text: &str) -> Self {
        let mut entries = Vec::new();
        if let Ok(root) = toml::from_str::<Node>(text) {
            walk(&root, "", &mut entries);
        }
        KeyIndex { entries }
    }

    /// Where the key or element at `path` starts.
    pub(crate) fn start_of(&self, path: &str) -> Option<usize> {
        self.entries
            .iter()
            .find(|(_, p)| p == path)
            .map(|(start, _)| *start)
    }

    /// The path of the key or element that starts last at or before `offset`:
    /// serde's spans point at a key or at its value, which follows the key.
    pub(crate) fn path_at(&self, offset: usize) -> Option<&str> {
        self.entries
            .iter()
            .filter(|(start, _)| *start <= offset)
            .max_by_key(|(start, _)| *start)
            .map(|(_, path)| path.as_str())
    }
}

fn walk(node: &Node, path: &str, entries: &mut Vec<(usize, String)>) {
    match node {
        Node::Leaf => {}
        Node::Table(pairs) => {
            for (key, value) in pairs {
                let child = if path.is_empty() {
                    key.get_ref().clone()
                } else {
                    format!("{path}.{}", key.get_ref())
                };
                entries.push((key.span().start, child.clone()));
                walk(value, &child, entries);
            }
        }
        Node::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let child = format!("{path}[{i}]");
                entries.push((item.span().start, child.clone()));
                walk(item.get_ref(), &child, entries);
            }
        }
    }
}

/// Any TOML value, keeping only its shape and where keys and array elements start.
///
/// Table values are not [`Spanned`]: toml gives an implicit table (`a` in
/// `[a.b]`) no span, and asking for one would fail the whole parse.
enum Node {
    Leaf,
    Table(Vec<(Spanned<String>, Node)>),
    Array(Vec<Spanned<Node>>),
}
impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut pairs = Vec::new();
        while let Some(key) = map.next_key()? {
            pairs.push((key, map.next_value()?));
        }
        Ok(Node::Table(pairs))
    }
}
