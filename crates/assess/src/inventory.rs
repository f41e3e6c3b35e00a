//! What the server runs, in the signature pack's product vocabulary.

use scantriage_detect::Vocabulary;
use std::collections::BTreeMap;

/// One installed product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Canonical product name.
    pub name: String,
    /// Installed version, when known.
    pub version: Option<String>,
}

/// A product name the vocabulary does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryError {
    /// The name as written.
    pub name: String,
}

impl std::fmt::Display for InventoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown product `{}` (see the product vocabulary in rules/README.md, or add an alias)",
            self.name
        )
    }
}

/// The products this server runs and whether its site is dynamic.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    products: BTreeMap<String, Product>,
    /// True when the site runs server-side code, so generic web attacks could work.
    pub dynamic: bool,
}

impl Inventory {
    /// An inventory with nothing declared.
    pub fn new(dynamic: bool) -> Inventory {
        Inventory {
            products: BTreeMap::new(),
            dynamic,
        }
    }

    /// Adds a product by name or alias.
    pub fn add(
        &mut self,
        vocab: &Vocabulary,
        name: &str,
        version: Option<String>,
    ) -> Result<(), InventoryError> {
        let canon = vocab.canonical(name).ok_or_else(|| InventoryError {
            name: name.to_string(),
        })?;
        self.products.insert(
            canon.to_string(),
            Product {
                name: canon.to_string(),
                version,
            },
        );
        Ok(())
    }

    /// Whether a canonical product is installed.
    pub fn has(&self, product: &str) -> bool {
        self.products.contains_key(product)
    }

    /// The installed product, if any.
    pub fn get(&self, product: &str) -> Option<&Product> {
        self.products.get(product)
    }

    /// Every installed product, by name.
    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.products.values()
    }
}
