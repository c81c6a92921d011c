//! Reading the document root: `document`, `use`, `schedule`, `evaluate` and the top-level fields.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::reader::Parser;
use crate::document::{
    Catalog, Document, DocumentMeta, Evaluate, EvaluateMode, Named, Schedule, Secret, TaskList, Use,
};
use crate::pointer;

impl Parser {
    pub(crate) fn document(&mut self, value: &Arc<Value>) -> Option<Document> {
        let root = self.object(value, "")?;
        let meta = self.req(root, "", "document", Parser::document_meta);
        let do_ = self.req(root, "", "do", Parser::task_list);
        Some(Document {
            meta: meta?,
            input: self.opt(root, "", "input", Parser::input),
            use_: self
                .opt(root, "", "use", Parser::use_section)
                .unwrap_or_default(),
            do_: do_.unwrap_or_else(|| TaskList::new(Vec::new(), "/do")),
            timeout: self.opt(root, "", "timeout", Parser::timeout_ref),
            output: self.opt(root, "", "output", Parser::output),
            schedule: self.opt(root, "", "schedule", Parser::schedule),
            evaluate: self.opt(root, "", "evaluate", Parser::evaluate),
            raw: Arc::clone(value),
        })
    }

    fn document_meta(&mut self, value: &Value, pointer: &str) -> Option<DocumentMeta> {
        let map = self.object(value, pointer)?;
        let dsl = self.req(map, pointer, "dsl", Parser::string);
        let namespace = self.req(map, pointer, "namespace", Parser::string);
        let name = self.req(map, pointer, "name", Parser::string);
        let version = self.req(map, pointer, "version", Parser::string);
        Some(DocumentMeta {
            dsl: dsl?,
            namespace: namespace?,
            name: name?,
            version: version?,
            title: self.opt(map, pointer, "title", Parser::string),
            summary: self.opt(map, pointer, "summary", Parser::string),
            tags: self.opt(map, pointer, "tags", Parser::free_map),
            metadata: self.opt(map, pointer, "metadata", Parser::free_map),
        })
    }

    /// A `use` map (name → definition) read in document order.
    fn named<T>(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        key: &str,
        read: impl Fn(&mut Self, &Value, &str) -> Option<T>,
    ) -> Vec<Named<T>> {
        let section_pointer = pointer::join(pointer, key);
        let Some(section) = self.opt(map, pointer, key, |p, v, ptr| p.object(v, ptr)) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(section.len());
        for (name, value) in section {
            let entry_pointer = pointer::join(&section_pointer, name);
            if let Some(value) = read(self, value, &entry_pointer) {
                out.push(Named {
                    name: name.clone(),
                    pointer: entry_pointer,
                    value,
                });
            }
        }
        out
    }

    fn use_section(&mut self, value: &Value, pointer: &str) -> Option<Use> {
        let map = self.object(value, pointer)?;
        let functions_pointer = pointer::join(pointer, "functions");
        let mut functions = Vec::new();
        if let Some(section) = self.opt(map, pointer, "functions", |p, v, ptr| p.object(v, ptr)) {
            for (name, body) in section {
                functions.extend(self.task(name, body, &pointer::join(&functions_pointer, name)));
            }
        }
        let extensions_pointer = pointer::join(pointer, "extensions");
        let mut extensions = Vec::new();
        if let Some(items) = self.opt(map, pointer, "extensions", |p, v, ptr| p.array(v, ptr)) {
            for (index, item) in items.iter().enumerate() {
                extensions
                    .extend(self.extension(item, &pointer::join_index(&extensions_pointer, index)));
            }
        }
        let secrets_pointer = pointer::join(pointer, "secrets");
        let mut secrets = Vec::new();
        if let Some(items) = self.opt(map, pointer, "secrets", |p, v, ptr| p.array(v, ptr)) {
            for (index, item) in items.iter().enumerate() {
                let item_pointer = pointer::join_index(&secrets_pointer, index);
                if let Some(name) = self.string(item, &item_pointer) {
                    secrets.push(Secret {
                        name,
                        pointer: item_pointer,
                    });
                }
            }
        }
        Some(Use {
            authentications: self.named(
                map,
                pointer,
                "authentications",
                Parser::authentication_policy,
            ),
            errors: self.named(map, pointer, "errors", Parser::error_def),
            extensions,
            functions,
            retries: self.named(map, pointer, "retries", Parser::retry_policy),
            secrets,
            timeouts: self.named(map, pointer, "timeouts", Parser::timeout),
            catalogs: self.named(map, pointer, "catalogs", |p, v, ptr| {
                let map = p.object(v, ptr)?;
                Some(Catalog {
                    endpoint: p.req(map, ptr, "endpoint", Parser::endpoint)?,
                })
            }),
        })
    }

    fn schedule(&mut self, value: &Value, pointer: &str) -> Option<Schedule> {
        let map = self.object(value, pointer)?;
        Some(Schedule {
            every: self.opt(map, pointer, "every", Parser::duration),
            cron: self.opt(map, pointer, "cron", Parser::string),
            after: self.opt(map, pointer, "after", Parser::duration),
            on: self.opt(map, pointer, "on", Parser::consumption_strategy),
            pointer: pointer.to_string(),
        })
    }

    fn evaluate(&mut self, value: &Value, pointer: &str) -> Option<Evaluate> {
        let map = self.object(value, pointer)?;
        let mode = self.opt(map, pointer, "mode", |p, v, ptr| {
            let text = p.string(v, ptr)?;
            match text.as_str() {
                "strict" => Some(EvaluateMode::Strict),
                "loose" => Some(EvaluateMode::Loose),
                other => {
                    p.unexpected(
                        ptr,
                        format!("unknown evaluation mode `{other}`; expected strict or loose"),
                    );
                    None
                }
            }
        });
        Some(Evaluate {
            language: self
                .opt(map, pointer, "language", Parser::string)
                .unwrap_or_else(|| "jq".to_string()),
            mode: mode.unwrap_or_default(),
            pointer: pointer.to_string(),
        })
    }
}
