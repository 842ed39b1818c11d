//! `docs/configuration.md` against the parser, so the reference cannot drift.
//!
//! - The keys each table accepts come from the parser itself: a probing serde
//!   [`Deserializer`] walks [`RawConfig`] and records the `fields` list that
//!   `deserialize_struct` receives for every `deny_unknown_fields` struct,
//!   nested ones included (`[[ospf.interface]]`, its `auth`).
//! - Which `[check.NAME]` keys belong to which kind comes from the validator:
//!   each key is tried on each kind, and "not a key of kind" says no.
//! - Every documented key must exist in its table, and every accepted key
//!   must be documented; each row's example must validate, and a row that
//!   says "required" must be refused when the key is left out.
//! - Every ```toml block in the reference, the README, `docs/routers.md` and
//!   `docs/operations.md` must load, as `vipd check` loads a file, and
//!   `configs/examples/full.toml` must set every key.
//!
//! Beside the configuration: every metric `src/control/metrics.rs` registers
//! is in the tables of `docs/operations.md` (or `docs/ospf.md`) and the
//! guide names no other; the README keeps its two entry points and shows
//! the table of `proto-tests/bench/failover-results.md`; every relative link
//! of the README and these guides leads to a file and heading.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, StrDeserializer, UsizeDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

use super::super::raw::RawConfig;
use super::super::{load, parse};

const REFERENCE: &str = include_str!("../../../docs/configuration.md");
const README: &str = include_str!("../../../README.md");
const ROUTERS: &str = include_str!("../../../docs/routers.md");
const OPERATIONS: &str = include_str!("../../../docs/operations.md");
const OSPF_DOC: &str = include_str!("../../../docs/ospf.md");
const METRICS_RS: &str = include_str!("../../control/metrics.rs");
const REFERENCE_PATH: &str = "docs/configuration.md";

// ---------------------------------------------------------------------------
// The parser's own key lists

/// What sits at one path of the file.
#[derive(Clone, Copy, Debug)]
enum Node {
    /// A struct: these are its keys (serde names, renames applied).
    Table(&'static [&'static str]),
    /// A map of tables keyed by a name the user picks (`[check.NAME]`).
    Named,
    /// A value.
    Leaf,
}

/// The only error: the probe stops once it has seen what is at its path.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probe stopped")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

// serde_spanned's private names: `Spanned<T>` deserializes as a struct with
// these three fields. Seen through, it is just `T`.
const SPANNED: &str = "$__serde_spanned_private_Spanned";
const SPAN_START: &str = "$__serde_spanned_private_start";
const SPAN_END: &str = "$__serde_spanned_private_end";
const SPAN_VALUE: &str = "$__serde_spanned_private_value";

/// Walks down `rest` (one key per table; arrays, options and spans are seen
/// through) and records what it finds at the end in `found`.
#[derive(Clone, Copy)]
struct Probe<'a> {
    rest: &'a [String],
    found: &'a Cell<Option<Node>>,
}

impl Probe<'_> {
    fn stop<T>(self, node: Node) -> Result<T, Stop> {
        self.found.set(Some(node));
        Err(Stop)
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        self.stop(Node::Leaf)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        if name == SPANNED {
            return visitor.visit_map(SpanAccess {
                probe: self,
                next: 0,
            });
        }
        match self.rest.split_first() {
            None => self.stop(Node::Table(fields)),
            Some((key, rest)) => visitor.visit_map(OneEntry {
                key: Some(key),
                value: Probe { rest, ..self },
            }),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        match self.rest.split_first() {
            None => self.stop(Node::Named),
            Some((key, rest)) => visitor.visit_map(OneEntry {
                key: Some(key),
                value: Probe { rest, ..self },
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        // `[[peer]]` is an array of tables: look at its one element.
        visitor.visit_seq(OneElement(Some(self)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct enum identifier ignored_any
    }
}

/// A table with one key in it: the next step of the probe's path.
struct OneEntry<'a> {
    key: Option<&'a String>,
    value: Probe<'a>,
}

impl<'de> MapAccess<'de> for OneEntry<'_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        match self.key.take() {
            Some(key) => seed
                .deserialize(StrDeserializer::<Stop>::new(key))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Stop> {
        seed.deserialize(self.value)
    }
}

/// An array with one element.
struct OneElement<'a>(Option<Probe<'a>>);

impl<'de> SeqAccess<'de> for OneElement<'_> {
    type Error = Stop;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Stop> {
        self.0.take().map(|p| seed.deserialize(p)).transpose()
    }
}

/// `Spanned<T>` as serde_spanned reads it: start, end, then `T` itself.
struct SpanAccess<'a> {
    probe: Probe<'a>,
    next: usize,
}

impl<'de> MapAccess<'de> for SpanAccess<'_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        let key = match self.next {
            0 => SPAN_START,
            1 => SPAN_END,
            2 => SPAN_VALUE,
            _ => return Ok(None),
        };
        seed.deserialize(BorrowedStrDeserializer::<Stop>::new(key))
            .map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Stop> {
        self.next += 1;
        if self.next <= 2 {
            let zero: UsizeDeserializer<Stop> = 0usize.into_deserializer();
            seed.deserialize(zero)
        } else {
            seed.deserialize(self.probe)
        }
    }
}

/// What the parser has at `path`.
fn node_at(path: &[String]) -> Node {
    let found = Cell::new(None);
    let _ = RawConfig::deserialize(Probe {
        rest: path,
        found: &found,
    });
    found.get().unwrap_or(Node::Leaf)
}

/// Every table of the file, as its header is written without brackets
/// (`speaker`, `peer`, `check.NAME`, `ospf.interface.auth`), with the keys
/// the parser accepts in it.
fn parser_tables() -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut tables = BTreeMap::new();
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = queue.pop() {
        assert!(path.len() < 8, "the probe went too deep: {path:?}");
        match node_at(&path) {
            Node::Table(fields) => {
                let mut keys = BTreeSet::new();
                for field in fields {
                    let mut child = path.clone();
                    child.push((*field).to_string());
                    match node_at(&child) {
                        Node::Leaf => {
                            keys.insert(*field);
                        }
                        Node::Table(_) | Node::Named => queue.push(child),
                    }
                }
                if !path.is_empty() {
                    tables.insert(path.join("."), keys);
                } else {
                    assert!(
                        keys.is_empty(),
                        "top-level keys outside any table are not documented anywhere: {keys:?}"
                    );
                }
            }
            Node::Named => {
                let mut child = path.clone();
                child.push("NAME".to_string());
                queue.push(child);
            }
            Node::Leaf => panic!("{path:?} was queued as a table but is a value"),
        }
    }
    tables
}

#[test]
fn the_probe_sees_the_parsers_tables() {
    let tables = parser_tables();
    for (table, key) in [
        ("speaker", "asn"),
        ("peer", "remote_asn"),
        ("vip", "prefix"),
        ("check.NAME", "kind"),
        ("ospf", "area"),
        ("ospf.interface", "hello_interval"),
        ("ospf.interface.auth", "type"),
    ] {
        assert!(
            tables.get(table).is_some_and(|keys| keys.contains(key)),
            "the probe did not find `{key}` in [{table}]: {tables:#?}"
        );
    }
    // `interface` is a table of tables, not a key of `[ospf]`.
    assert!(!tables["ospf"].contains("interface"), "{tables:#?}");
}

// ---------------------------------------------------------------------------
// The reference, read as data

/// One row of a key table.
#[derive(Debug)]
struct Row {
    line: usize,
    table: String,
    key: String,
    /// `[check.NAME]` rows: the kinds the row is about.
    kinds: Option<BTreeSet<String>>,
    required: bool,
    /// `key = value` lines for the table, the row's own key among them.
    example: Vec<(String, String)>,
}

/// The code spans of a line of Markdown: `a` and `b` in "x `a` y `b`".
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// `[[ospf.interface]]` -> `ospf.interface`, if the heading names a table.
fn heading_table(line: &str) -> Option<String> {
    code_spans(line)
        .into_iter()
        .find(|span| span.starts_with('[') && span.ends_with(']'))
        .map(|span| span.trim_matches(['[', ']']).to_string())
}

fn cells(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

/// The kinds a Kinds cell names: "all", "all but `lease`", or a list.
fn kinds_of(cell: &str, all: &BTreeSet<String>, line: usize) -> BTreeSet<String> {
    let named: BTreeSet<String> = code_spans(cell).into_iter().map(str::to_string).collect();
    for kind in &named {
        assert!(
            all.contains(kind),
            "{REFERENCE_PATH}:{line}: `{kind}` is not a check kind the parser knows ({all:?})"
        );
    }
    if cell.starts_with("all but") {
        all.difference(&named).cloned().collect()
    } else if cell == "all" {
        all.clone()
    } else {
        assert!(
            !named.is_empty(),
            "{REFERENCE_PATH}:{line}: the Kinds cell {cell:?} names no kind"
        );
        named
    }
}

fn rows(all_kinds: &BTreeSet<String>) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut table: Option<String> = None;
    let mut columns: Vec<String> = Vec::new();
    let mut in_code = false;
    for (i, line) in REFERENCE.lines().enumerate() {
        let n = i + 1;
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if line.starts_with('#') {
            table = heading_table(line);
            columns.clear();
            continue;
        }
        if !line.starts_with('|') {
            continue;
        }
        let row = cells(line);
        if row.first() == Some(&"Key") {
            columns = row.iter().map(|c| c.to_string()).collect();
            continue;
        }
        if row.iter().all(|c| c.chars().all(|ch| "-: ".contains(ch))) {
            continue;
        }
        let Some(table) = &table else { continue };
        assert!(
            !columns.is_empty(),
            "{REFERENCE_PATH}:{n}: a row of [{table}] before its `| Key |` header"
        );
        let cell = |name: &str| -> &str {
            let at = columns
                .iter()
                .position(|c| c == name)
                .unwrap_or_else(|| panic!("{REFERENCE_PATH}:{n}: the table has no {name} column"));
            row.get(at)
                .unwrap_or_else(|| panic!("{REFERENCE_PATH}:{n}: the row has no {name} cell"))
        };
        let key_spans = code_spans(cell("Key"));
        assert!(
            key_spans.len() == 1 && cell("Key") == format!("`{}`", key_spans[0]),
            "{REFERENCE_PATH}:{n}: the Key cell must be exactly one `key`, not {:?}",
            cell("Key")
        );
        for column in ["Type", "Default", "Meaning"] {
            assert!(
                !cell(column).is_empty(),
                "{REFERENCE_PATH}:{n}: `{}` has an empty {column} cell",
                key_spans[0]
            );
        }
        let example: Vec<(String, String)> = code_spans(cell("Example"))
            .into_iter()
            .map(|span| {
                let (k, v) = span.split_once(" = ").unwrap_or_else(|| {
                    panic!("{REFERENCE_PATH}:{n}: example `{span}` is not `key = value`")
                });
                (k.to_string(), v.to_string())
            })
            .collect();
        let key = key_spans[0].to_string();
        assert!(
            example.iter().any(|(k, _)| *k == key),
            "{REFERENCE_PATH}:{n}: the example of `{key}` does not set `{key}`: {example:?}"
        );
        let kinds = columns
            .iter()
            .any(|c| c == "Kinds")
            .then(|| kinds_of(cell("Kinds"), all_kinds, n));
        rows.push(Row {
            line: n,
            table: table.clone(),
            key,
            kinds,
            required: cell("Default").starts_with("**required**")
                || cell("Default").starts_with("required"),
            example,
        });
    }
    assert!(!in_code, "{REFERENCE_PATH}: a code block is never closed");
    rows
}

// ---------------------------------------------------------------------------
// Small valid files to try keys in

/// A table: its header and its `key = value` lines, in order.
#[derive(Clone)]
struct Table {
    header: &'static str,
    /// The table's path as `Row::table` names it.
    path: &'static str,
    keys: Vec<(String, String)>,
}

impl Table {
    fn new(header: &'static str, path: &'static str, keys: &[(&str, &str)]) -> Table {
        Table {
            header,
            path,
            keys: keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn set(&mut self, key: &str, value: &str) {
        match self.keys.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.keys.push((key.to_string(), value.to_string())),
        }
    }

    fn remove(&mut self, key: &str) -> bool {
        let before = self.keys.len();
        self.keys.retain(|(k, _)| k != key);
        self.keys.len() != before
    }
}

/// The keys a check of `kind` cannot do without.
fn check_base(kind: &str) -> Vec<(&'static str, &'static str)> {
    let required: &[(&str, &str)] = match kind {
        "tcp" => &[("address", "\"127.0.0.1:8080\"")],
        "http" => &[("url", "\"http://127.0.0.1:8080/healthz\"")],
        "https" => &[("url", "\"https://127.0.0.1:8443/healthz\"")],
        "exec" => &[("command", "[\"/bin/true\"]")],
        "file" => &[("path", "\"/etc/vipd/maintenance\"")],
        "process" => &[("pidfile", "\"/run/app.pid\"")],
        "dns" => &[("server", "\"127.0.0.1\""), ("name", "\"example.com\"")],
        "grpc" => &[("address", "\"127.0.0.1:50051\"")],
        "lease" => &[],
        "interface" => &[("name", "\"eth1\"")],
        other => panic!("this test has no minimal table for the new kind {other:?}: add one"),
    };
    let mut keys = vec![("kind", "")];
    keys.extend_from_slice(required);
    keys
}

/// A valid file with every table; the one under test is `probe`.
struct File {
    tables: Vec<Table>,
}

impl File {
    /// Everything but a `[check.probe]`.
    fn new() -> File {
        File {
            tables: vec![
                Table::new(
                    "[speaker]",
                    "speaker",
                    &[
                        ("asn", "65001"),
                        ("router_id", "\"10.255.1.2\""),
                        ("listen", "\"127.0.0.1:1179\""),
                    ],
                ),
                Table::new(
                    "[[peer]]",
                    "peer",
                    &[("address", "\"10.255.1.1\""), ("remote_asn", "65000")],
                ),
                Table::new("[[vip]]", "vip", &[("prefix", "\"198.18.0.10/32\"")]),
                // What a VIP example may name.
                Table::new(
                    "[check.web]",
                    "check.web",
                    &[
                        ("kind", "\"http\""),
                        ("url", "\"http://127.0.0.1:8080/healthz\""),
                    ],
                ),
                Table::new(
                    "[check.maintenance]",
                    "check.maintenance",
                    &[("kind", "\"file\""), ("path", "\"/etc/vipd/maintenance\"")],
                ),
                Table::new("[ospf]", "ospf", &[]),
                Table::new(
                    "[[ospf.interface]]",
                    "ospf.interface",
                    &[("name", "\"eth1\""), ("ipv6", "true")],
                ),
            ],
        }
    }

    /// With a `[check.probe]` of `kind`.
    fn with_check(kind: &str) -> File {
        let mut file = File::new();
        let mut table = Table::new("[check.probe]", "check.NAME", &check_base(kind));
        table.set("kind", &format!("{kind:?}"));
        file.tables.push(table);
        file
    }

    /// With an `auth` table in the `[[ospf.interface]]`.
    fn with_auth() -> File {
        let mut file = File::new();
        file.tables.push(Table::new(
            "[ospf.interface.auth]",
            "ospf.interface.auth",
            &[("type", "\"md5\""), ("key_id", "1"), ("key", "\"secret\"")],
        ));
        file
    }

    /// With a `[[peer.tcp_ao]]` key for the `[[peer]]`.
    fn with_tcp_ao() -> File {
        let mut file = File::new();
        file.tables.push(Table::new(
            "[[peer.tcp_ao]]",
            "peer.tcp_ao",
            &[("send_id", "1"), ("recv_id", "1"), ("key", "\"secret\"")],
        ));
        file
    }

    /// The file to try a row of `table` in (for checks: of `kind`).
    fn for_table(table: &str, kind: Option<&str>) -> File {
        match (table, kind) {
            ("check.NAME", Some(kind)) => File::with_check(kind),
            ("ospf.interface.auth", _) => File::with_auth(),
            ("peer.tcp_ao", _) => File::with_tcp_ao(),
            _ => File::new(),
        }
    }

    fn table(&mut self, path: &str) -> &mut Table {
        // The last one: `[check.probe]`, not the VIPs' `[check.web]`.
        self.tables
            .iter_mut()
            .rev()
            .find(|t| t.path == path)
            .unwrap_or_else(|| panic!("the test file has no [{path}]"))
    }

    fn text(&self) -> String {
        let mut text = String::new();
        for table in &self.tables {
            text.push_str(table.header);
            text.push('\n');
            for (k, v) in &table.keys {
                text.push_str(&format!("{k} = {v}\n"));
            }
        }
        text
    }

    fn errors(&self) -> Vec<String> {
        match parse(&self.text(), "reference.toml") {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }
}

/// The kinds the parser knows, from its own error message.
fn parser_kinds() -> BTreeSet<String> {
    let mut file = File::with_check("tcp");
    file.table("check.NAME").set("kind", "\"no-such-kind\"");
    let errors = file.errors();
    let list = errors
        .iter()
        .find_map(|e| e.split("expected one of ").nth(1))
        .unwrap_or_else(|| panic!("no list of kinds in {errors:?}"));
    list.trim_end_matches(')')
        .split(", ")
        .map(str::to_string)
        .collect()
}

/// The rows, with the example rows of the `[check.NAME]` table in both
/// directions checked against what the validator accepts per kind.
fn check_rows_match_the_validator(rows: &[Row], keys: &BTreeSet<&str>, kinds: &BTreeSet<String>) {
    let documented: BTreeSet<(String, String)> = rows
        .iter()
        .filter(|r| r.table == "check.NAME")
        .flat_map(|r| {
            let kinds = r.kinds.clone().unwrap_or_else(|| {
                panic!(
                    "{REFERENCE_PATH}:{}: [check.NAME] rows need a Kinds column",
                    r.line
                )
            });
            kinds.into_iter().map(|k| (k, r.key.clone()))
        })
        .collect();
    let mut accepted = BTreeSet::new();
    for key in keys {
        // Any documented value of the key will do to see whether a kind takes it.
        let Some(value) = rows
            .iter()
            .filter(|r| r.table == "check.NAME")
            .find_map(|r| r.example.iter().find(|(k, _)| k == key).map(|(_, v)| v))
        else {
            continue; // reported as undocumented by the caller
        };
        for kind in kinds {
            if *key == "kind" {
                accepted.insert((kind.clone(), key.to_string()));
                continue;
            }
            let mut file = File::with_check(kind);
            file.table("check.NAME").set(key, value);
            let errors = file.errors();
            let refused = errors
                .iter()
                .any(|e| e.contains(&format!("check.probe.{key}: not a key of kind")));
            if !refused {
                accepted.insert((kind.clone(), key.to_string()));
            }
        }
    }
    let undocumented: Vec<_> = accepted.difference(&documented).collect();
    let wrong: Vec<_> = documented.difference(&accepted).collect();
    assert!(
        undocumented.is_empty() && wrong.is_empty(),
        "{REFERENCE_PATH}, [check.NAME]:\n  (kind, key) the validator accepts but the reference \
         does not list: {undocumented:?}\n  (kind, key) the reference lists but the validator \
         refuses: {wrong:?}"
    );
}

#[test]
fn every_key_the_parser_accepts_is_documented_in_its_table_and_no_other() {
    let tables = parser_tables();
    let kinds = parser_kinds();
    let rows = rows(&kinds);
    let mut missing = Vec::new();
    for (table, keys) in &tables {
        for key in keys {
            if !rows.iter().any(|r| r.table == *table && r.key == *key) {
                missing.push(format!("[{table}] {key}"));
            }
        }
    }
    let mut unknown = Vec::new();
    for row in &rows {
        match tables.get(&row.table) {
            Some(keys) if keys.contains(row.key.as_str()) => {}
            Some(_) => unknown.push(format!(
                "{REFERENCE_PATH}:{}: [{}] {}",
                row.line, row.table, row.key
            )),
            None => unknown.push(format!(
                "{REFERENCE_PATH}:{}: [{}] is not a table the parser knows ({:?})",
                row.line,
                row.table,
                tables.keys().collect::<Vec<_>>()
            )),
        }
    }
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "the configuration reference has drifted from the parser.\n  accepted but not \
         documented:\n    {}\n  documented but not accepted:\n    {}",
        missing.join("\n    "),
        unknown.join("\n    ")
    );
    for table in tables.keys() {
        assert!(
            rows.iter().any(|r| r.table == *table),
            "{REFERENCE_PATH} has no section for [{table}]"
        );
    }
    check_rows_match_the_validator(&rows, &tables["check.NAME"], &kinds);
}

#[test]
fn every_rows_example_validates_and_required_keys_are_required() {
    let kinds = parser_kinds();
    let rows = rows(&kinds);
    assert!(rows.len() > 50, "only {} rows read", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let row_kinds: Vec<Option<String>> = match &row.kinds {
            // `kind = "..."` picks the kind of its own example.
            Some(_) if row.key == "kind" => {
                vec![Some(row.example[0].1.trim_matches('"').to_string())]
            }
            Some(kinds) => kinds.iter().cloned().map(Some).collect(),
            None => vec![None],
        };
        for kind in row_kinds {
            let at = format!(
                "{REFERENCE_PATH}:{}: [{}] {}{}",
                row.line,
                row.table,
                row.key,
                kind.as_ref()
                    .map(|k| format!(" (kind {k})"))
                    .unwrap_or_default()
            );
            let mut file = File::for_table(&row.table, kind.as_deref());
            for (k, v) in &row.example {
                file.table(&row.table).set(k, v);
            }
            let errors = file.errors();
            if !errors.is_empty() {
                failures.push(format!(
                    "{at}: the example does not validate:\n{}\n  {}",
                    file.text(),
                    errors.join("\n  ")
                ));
            }
            let mut without = File::for_table(&row.table, kind.as_deref());
            let had = without.table(&row.table).remove(&row.key);
            let errors = without.errors();
            let named = errors.iter().any(|e| {
                e.contains(&format!("`{}`", row.key)) || e.contains(&format!(".{}:", row.key))
            });
            if row.required && !named {
                failures.push(format!(
                    "{at}: documented as required, but a file without it gives {errors:?}"
                ));
            }
            if !row.required && had && !errors.is_empty() {
                failures.push(format!(
                    "{at}: documented with a default, but a file without it gives {errors:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// Whole examples

/// The ```toml blocks of a Markdown text, with the line each starts on.
fn toml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```toml" => current = Some((i + 1, String::new())),
            None => {}
            Some(_) if line.trim_start().starts_with("```") => blocks.extend(current.take()),
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

#[test]
fn every_toml_example_in_the_docs_loads_as_vipd_check_loads_it() {
    let dir = std::env::temp_dir().join(format!("vipd-reference-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, text) in [
        (REFERENCE_PATH, REFERENCE),
        ("README.md", README),
        ("docs/routers.md", ROUTERS),
        ("docs/operations.md", OPERATIONS),
    ] {
        for (line, block) in toml_blocks(text) {
            count += 1;
            let path = dir.join(format!("block-{count}.toml"));
            std::fs::write(&path, &block).unwrap();
            if let Err(errors) = load(&path) {
                failures.push(format!(
                    "{name}:{line}: this example does not load:\n{errors}"
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(count >= 4, "only {count} TOML examples found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// Metrics

/// The metric names `src/control/metrics.rs` registers: each string literal
/// right after a `register(` (counters get `_total` from the encoder).
fn registered_metrics() -> BTreeSet<&'static str> {
    let mut names = BTreeSet::new();
    for (at, _) in METRICS_RS.match_indices("register(") {
        let rest = METRICS_RS[at + "register(".len()..].trim_start();
        let Some(name) = rest.strip_prefix("\"vipd_") else {
            continue;
        };
        let end = name.find('"').expect("an unterminated metric name");
        let full = &rest[1..end + "vipd_".len() + 1];
        names.insert(full);
    }
    names
}

#[test]
fn every_metric_vipd_serves_is_documented_and_no_other() {
    let registered = registered_metrics();
    assert!(
        registered.len() >= 10,
        "only {registered:?} found in src/control/metrics.rs"
    );
    let documented = |text: &str| -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("| `vipd_"))
            .filter_map(|l| l.split('`').next())
            .map(|n| format!("vipd_{n}"))
            .collect()
    };
    let in_docs: BTreeSet<String> = documented(OPERATIONS)
        .union(&documented(OSPF_DOC))
        .cloned()
        .collect();
    let matches = |doc: &str, reg: &str| doc == reg || doc == format!("{reg}_total");
    let undocumented: Vec<_> = registered
        .iter()
        .filter(|r| !in_docs.iter().any(|d| matches(d, r)))
        .collect();
    let unknown: Vec<_> = in_docs
        .iter()
        .filter(|d| !registered.iter().any(|r| matches(d, r)))
        .collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "metrics served but not in the tables of docs/operations.md or docs/ospf.md: \
         {undocumented:?}; documented but not served: {unknown:?}"
    );
    // Every metric the operations guide names anywhere (the alert
    // expressions too) is served; `vipd_ospf_*` names a family.
    let suffixes = ["", "_total", "_bucket", "_sum", "_count"];
    let mut unserved = Vec::new();
    for (at, _) in OPERATIONS.match_indices("vipd_") {
        let name: String = OPERATIONS[at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let served = if name.ends_with('_') {
            registered.iter().any(|r| r.starts_with(&name))
        } else {
            registered
                .iter()
                .any(|r| suffixes.iter().any(|s| name == format!("{r}{s}")))
        };
        if !served {
            unserved.push(name);
        }
    }
    assert!(
        unserved.is_empty(),
        "docs/operations.md names metrics vipd does not serve: {unserved:?}"
    );
}

// ---------------------------------------------------------------------------
// The README's entry points and the documentation's links

#[test]
fn the_readme_keeps_its_two_entry_points() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for command in ["sudo proto-tests/demo.sh", "sudo proto-tests/test-all.sh"] {
        assert!(README.contains(command), "README.md lost `{command}`");
        let script = root.join(command.trim_start_matches("sudo "));
        let mode = std::fs::metadata(&script)
            .unwrap_or_else(|e| panic!("{}: {e}", script.display()))
            .permissions();
        assert!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111 != 0,
            "{} is not executable",
            script.display()
        );
    }
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, and only
/// letters, digits, `-` and `_` kept.
fn slug(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown text's headings (outside code blocks).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.insert(slug(line));
        }
    }
    out
}

/// `[text](target)` links outside code blocks and code spans.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut in_code = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Drop code spans, which may hold `](` of their own.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        for (at, _) in prose.match_indices("](") {
            let rest = &prose[at + 2..];
            if let Some(end) = rest.find(')') {
                out.push((i + 1, rest[..end].to_string()));
            }
        }
    }
    out
}

#[test]
fn every_link_in_the_readme_and_these_guides_leads_somewhere() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut broken = Vec::new();
    for doc in [
        "README.md",
        "docs/configuration.md",
        "docs/operations.md",
        "docs/routers.md",
    ] {
        let path = root.join(doc);
        let text = std::fs::read_to_string(&path).unwrap();
        for (line, target) in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target.as_str(), None),
            };
            let resolved = if file.is_empty() {
                path.clone()
            } else {
                path.parent().unwrap().join(file)
            };
            if !resolved.exists() {
                broken.push(format!("{doc}:{line}: {target}: no such file"));
                continue;
            }
            if let Some(fragment) = fragment {
                let target_text = std::fs::read_to_string(&resolved).unwrap_or_default();
                if !anchors(&target_text).contains(fragment) {
                    broken.push(format!("{doc}:{line}: {target}: no such heading"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_full_example_sets_every_key_the_parser_accepts() {
    let full = include_str!("../../../configs/examples/full.toml");
    // `key = ` at the start of a line (perhaps commented out, for a key
    // whose example would clash with another) or inside an inline table.
    let sets = |key: &str| {
        full.lines().any(|line| {
            let line = line.trim_start().trim_start_matches('#').trim_start();
            line.starts_with(&format!("{key} ="))
                || line.contains(&format!("{{ {key} ="))
                || line.contains(&format!(", {key} ="))
        })
    };
    let missing: Vec<String> = parser_tables()
        .iter()
        .flat_map(|(table, keys)| {
            keys.iter()
                .filter(|k| !sets(k))
                .map(move |k| format!("[{table}] {k}"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "configs/examples/full.toml (which docs/configuration.md says sets every key) \
         lacks: {missing:?}"
    );
}

#[test]
fn the_readme_shows_the_latest_failover_benchmark_results() {
    let results = include_str!("../../../proto-tests/bench/failover-results.md");
    let rows: Vec<&str> = results.lines().filter(|l| l.starts_with('|')).collect();
    assert!(rows.len() >= 3, "no results table in failover-results.md");
    let stale: Vec<&&str> = rows.iter().filter(|row| !README.contains(**row)).collect();
    let date = results
        .lines()
        .find_map(|l| l.strip_prefix("- date: "))
        .expect("failover-results.md has a `- date:` line");
    assert!(
        stale.is_empty() && README.contains(date),
        "README.md's Failover benchmark section is not the one in \
         proto-tests/bench/failover-results.md (date {date}); rows missing:\n{}",
        stale
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
