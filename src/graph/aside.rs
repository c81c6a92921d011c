//! What is drawn beside the main flow: `use.functions` (tasks that run only when called) and
//! `use.extensions` (tasks run around every task of a kind), each in a cluster of its own.

use crate::document::{Extension, ExtensionTarget};

use super::build::{Builder, Mode};
use super::label;
use super::model::{Cluster, EdgeStyle, Item, Shape, shorten};

impl Builder<'_> {
    /// `use.functions`: tasks that run only when called, drawn apart from the flow.
    pub(super) fn functions(&mut self) -> Item {
        let mut items = Vec::new();
        for function in &self.document.use_.functions {
            items.extend(self.task(function).items);
        }
        Item::Cluster(Cluster {
            id: self.ids.unique("c_use_functions".into()),
            title: "use.functions".into(),
            items,
        })
    }

    /// An extension: its `before` tasks, the task it extends, its `after` tasks, and the point
    /// where the flow resumes. `exit` in `before` skips the extended task.
    pub(super) fn extension(&mut self, extension: &Extension) -> Item {
        let mut extended_lines = vec![
            "extended task".to_string(),
            extension_target(extension.extend),
        ];
        if let Some(when) = &extension.when {
            extended_lines.push(format!("when {}", label::condition(when)));
        }
        let extended = self.node("x", &extension.pointer, extended_lines, Shape::Placeholder);
        let resume_lines = vec!["back to the flow".to_string()];
        let resume = self.node("r", &extension.pointer, resume_lines, Shape::Placeholder);
        let (extended_id, resume_id) = (extended.id.clone(), resume.id.clone());
        let before = extension
            .before
            .as_ref()
            .map(|l| self.list(l, Mode::Sequence));
        let after = extension
            .after
            .as_ref()
            .map(|l| self.list(l, Mode::Sequence));
        let after_entry = after.as_ref().and_then(|a| a.entries.first().cloned());
        let past_extended = after_entry.unwrap_or_else(|| resume_id.clone());
        let mut items = Vec::new();
        if let Some(before) = before {
            for out in before.outs {
                let to = if out.exited {
                    &past_extended
                } else {
                    &extended_id
                };
                self.edge(&out.from, to, out.label, out.style);
            }
            items.extend(before.items);
        }
        self.edge(&extended_id, &past_extended, None, EdgeStyle::Flow);
        items.push(Item::Node(extended));
        if let Some(after) = after {
            for out in after.outs {
                self.edge(&out.from, &resume_id, out.label, out.style);
            }
            items.extend(after.items);
        }
        items.push(Item::Node(resume));
        Item::Cluster(Cluster {
            id: self.ids.for_pointer("c", &extension.pointer),
            title: format!("extension {}", shorten(&extension.name, 40)),
            items,
        })
    }
}

fn extension_target(target: ExtensionTarget) -> String {
    let kind = match target {
        ExtensionTarget::Call => "call",
        ExtensionTarget::Composite => "composite",
        ExtensionTarget::Emit => "emit",
        ExtensionTarget::For => "for",
        ExtensionTarget::Listen => "listen",
        ExtensionTarget::Raise => "raise",
        ExtensionTarget::Run => "run",
        ExtensionTarget::Set => "set",
        ExtensionTarget::Switch => "switch",
        ExtensionTarget::Try => "try",
        ExtensionTarget::Wait => "wait",
        ExtensionTarget::All => return "every task".into(),
    };
    format!("every {kind} task")
}
