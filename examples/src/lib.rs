//! Runnable examples of the scheduler: the programs are the `[[example]]`
//! targets of this crate (`cargo run --example NAME`).
//!
//! This library holds no code. It makes the root README's embedding snippet
//! a doctest, compiled and run as written, and checks that the dependency
//! block of `docs/embedding.md` names what that snippet uses. It can include
//! files from outside its folder because this crate is never packaged
//! (`publish = false`).

/// The root `README.md`: its `rust` block runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    const README: &str = include_str!("../../README.md");
    const EMBEDDING: &str = include_str!("../../docs/embedding.md");

    /// The body of the first fenced block that opens with `fence`.
    fn block<'a>(text: &'a str, fence: &str) -> &'a str {
        let start = text.find(fence).unwrap_or_else(|| panic!("no {fence} block")) + fence.len();
        let len = text[start..].find("\n```").expect("the block is closed");
        &text[start..start + len]
    }

    /// The `[dependencies]` lines of docs/embedding.md, by crate name.
    fn dependencies() -> Vec<(String, String)> {
        let toml = block(EMBEDDING, "```toml\n[dependencies]\n");
        toml.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(name, spec)| (name.trim().to_owned(), spec.trim().to_owned()))
            .collect()
    }

    /// The crates a Rust snippet names by path (`serde_json::json!`, `use tokio::...`).
    fn crates_used(code: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (i, _) in code.match_indices("::") {
            let before = &code[..i];
            let ident_start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |p| p + 1);
            let ident = &before[ident_start..];
            let is_root = !before[..ident_start].ends_with("::");
            let is_crate = ident.chars().next().is_some_and(|c| c.is_ascii_lowercase());
            if is_root && is_crate && !["std", "core", "alloc", "crate", "self", "super"].contains(&ident) {
                let name = ident.replace('_', "-");
                if !found.contains(&name) {
                    found.push(name);
                }
            }
        }
        found
    }

    #[test]
    fn the_embedding_dependency_block_names_every_crate_the_readme_snippet_uses() {
        let snippet = block(README, "```rust\n");
        let deps = dependencies();
        let used = crates_used(snippet);
        assert_eq!(used, ["scheduler-core", "tokio", "serde-json"].map(str::to_owned));
        for name in used {
            let listed = deps.iter().any(|(d, _)| d.replace('_', "-") == name);
            assert!(listed, "docs/embedding.md does not list {name}: {deps:?}");
        }
    }

    #[test]
    fn the_embedding_dependency_block_enables_the_tokio_features_the_snippet_needs() {
        let snippet = block(README, "```rust\n");
        let deps = dependencies();
        let tokio = &deps.iter().find(|(d, _)| d == "tokio").expect("tokio is listed").1;
        let needs = [
            ("#[tokio::main]", "macros"),
            ("#[tokio::main]", "rt-multi-thread"),
            ("tokio::time::", "time"),
            ("tokio::signal::", "signal"),
        ];
        for (usage, feature) in needs {
            if snippet.contains(usage) {
                assert!(
                    tokio.contains(&format!("\"{feature}\"")),
                    "the snippet uses {usage}, docs/embedding.md's tokio lacks {feature:?}: {tokio}"
                );
            }
        }
    }

    #[test]
    fn crates_used_finds_path_roots_only() {
        let code = "use a_b::C;\nfn f() { std::mem::drop(x::y::z()); Foo::new(); }";
        assert_eq!(crates_used(code), ["a-b", "x"].map(str::to_owned));
    }
}
