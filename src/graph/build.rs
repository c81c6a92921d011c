//! Lowering of a `Document` into the picture model: every task becomes a node or a cluster, and
//! every way control can move (sequence, `then`, switch cases, `if` skips, loops, fork branches,
//! catches, retries, `exit` and `end`) becomes an edge.
//!
//! Each task is built into a `Piece` (its items, the id control enters by, and its exits, each
//! still carrying the flow directive that decides where it goes). The enclosing list resolves
//! those directives against its own tasks, and hands what leaves the list to its owner.

use std::collections::HashMap;

use crate::compile::Targets;
use crate::document::{Document, FlowDirective, ForTask, Task, TaskKind, TaskList, TryTask};

use super::label;
use super::model::{Cluster, Edge, EdgeStyle, Graph, Ids, Item, Node, Shape, shorten};

const START: &str = "wf_start";
const END: &str = "wf_end";
const FAULT: &str = "wf_fault";

/// Builds the picture of a document, its `then` jumps going where the compiler resolved them
/// (`targets`). Pure: the same document always gives the same graph.
pub(crate) fn build(document: &Document, targets: &Targets) -> Graph {
    let mut builder = Builder {
        document,
        targets,
        ids: Ids::default(),
        task_ids: Default::default(),
        edges: Vec::new(),
        fault_used: false,
        try_depth: 0,
    };
    for reserved in [START, END, FAULT] {
        builder.ids.unique(reserved.to_string());
    }
    let meta = &document.meta;
    let title = format!("{}/{}:{}", meta.namespace, meta.name, meta.version);

    let mut start_lines = vec!["start".to_string()];
    start_lines.extend(document.schedule.as_ref().and_then(label::schedule));
    let mut items = vec![Item::Node(Node {
        id: START.to_string(),
        lines: start_lines,
        shape: Shape::Start,
    })];
    let top = builder.list(&document.do_, Mode::Sequence);
    for entry in &top.entries {
        builder.edge(START, entry, None, EdgeStyle::Flow);
    }
    for out in top.outs {
        builder.edge(&out.from, END, out.label, out.style);
    }
    items.extend(top.items);
    items.push(terminal(END, "end", Shape::End));
    if builder.fault_used {
        items.push(terminal(FAULT, "fault", Shape::Fault));
    }
    if !document.use_.functions.is_empty() {
        items.push(builder.functions());
    }
    for extension in &document.use_.extensions {
        items.push(builder.extension(extension));
    }
    let mut edges = builder.edges;
    sort_by_source(&mut edges, &items);
    Graph {
        title,
        items,
        edges,
        task_ids: builder.task_ids,
        states: Default::default(),
    }
}

/// Orders edges by where their source is drawn (stable, so a node's edges keep their order),
/// which makes the text read top to bottom and gives the layout engines a natural order.
fn sort_by_source(edges: &mut [Edge], items: &[Item]) {
    fn walk(items: &[Item], order: &mut HashMap<String, usize>) {
        for item in items {
            let next = order.len();
            match item {
                Item::Node(node) => {
                    order.insert(node.id.clone(), next);
                }
                Item::Cluster(cluster) => {
                    order.insert(cluster.id.clone(), next);
                    walk(&cluster.items, order);
                }
            }
        }
    }
    let mut order = HashMap::new();
    walk(items, &mut order);
    edges.sort_by_key(|edge| order.get(&edge.from).copied().unwrap_or(usize::MAX));
}

fn terminal(id: &str, label: &str, shape: Shape) -> Item {
    Item::Node(Node {
        id: id.to_string(),
        lines: vec![label.to_string()],
        shape,
    })
}

/// How the tasks of a list relate: one after the other, or all at once (fork branches).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Sequence,
    Parallel,
}

/// A path out of a task, waiting for its destination.
pub(super) struct Exit {
    from: String,
    label: Option<String>,
    style: EdgeStyle,
    directive: FlowDirective,
}

/// A path out of a whole list: it fell off the end, or took `then: exit`.
pub(super) struct Out {
    pub(super) from: String,
    pub(super) label: Option<String>,
    pub(super) style: EdgeStyle,
    /// Left through `exit` rather than by completing the last task.
    pub(super) exited: bool,
}

/// A task lowered to drawing items.
pub(super) struct Piece {
    pub(super) items: Vec<Item>,
    pub(super) entry: String,
    pub(super) exits: Vec<Exit>,
}

/// A task list lowered: where control enters (one id, or one per fork branch) and leaves.
pub(super) struct ListPiece {
    pub(super) items: Vec<Item>,
    pub(super) entries: Vec<String>,
    pub(super) outs: Vec<Out>,
}

pub(super) struct Builder<'d> {
    pub(super) document: &'d Document,
    /// Where each `then: <name>` goes, as compiled.
    targets: &'d Targets,
    pub(super) ids: Ids,
    /// The first node (`t_…`) or cluster made for each task pointer.
    task_ids: std::collections::BTreeMap<String, String>,
    edges: Vec<Edge>,
    fault_used: bool,
    /// How many `try` bodies enclose the task being built: a `raise` there goes to a catch.
    try_depth: usize,
}

impl Builder<'_> {
    pub(super) fn edge(&mut self, from: &str, to: &str, label: Option<String>, style: EdgeStyle) {
        self.edges.push(Edge {
            from: from.to_string(),
            to: to.to_string(),
            label,
            style,
            backward: false,
        });
    }

    /// An edge that closes a loop (a jump back, a next iteration, a retry).
    fn back_edge(&mut self, from: &str, to: &str, label: Option<String>, style: EdgeStyle) {
        self.edge(from, to, label, style);
        if let Some(edge) = self.edges.last_mut() {
            edge.backward = true;
        }
    }

    pub(super) fn node(
        &mut self,
        prefix: &str,
        pointer: &str,
        lines: Vec<String>,
        shape: Shape,
    ) -> Node {
        let id = self.ids.for_pointer(prefix, pointer);
        if prefix == "t" {
            self.task_ids
                .entry(pointer.to_string())
                .or_insert_with(|| id.clone());
        }
        Node { id, lines, shape }
    }

    pub(super) fn list(&mut self, list: &TaskList, mode: Mode) -> ListPiece {
        if list.is_empty() {
            let node = self.node(
                "p",
                &list.pointer,
                vec!["(no tasks)".into()],
                Shape::Placeholder,
            );
            let id = node.id.clone();
            return ListPiece {
                items: vec![Item::Node(node)],
                entries: vec![id.clone()],
                outs: vec![Out {
                    from: id,
                    label: None,
                    style: EdgeStyle::Flow,
                    exited: false,
                }],
            };
        }
        let pieces: Vec<Piece> = list.iter().map(|task| self.task(task)).collect();
        let entries: Vec<String> = pieces.iter().map(|p| p.entry.clone()).collect();
        let mut items = Vec::new();
        let mut outs = Vec::new();
        for (index, piece) in pieces.into_iter().enumerate() {
            items.extend(piece.items);
            for exit in piece.exits {
                let out = |label: Option<String>, exited: bool| Out {
                    from: exit.from.clone(),
                    label,
                    style: exit.style,
                    exited,
                };
                match &exit.directive {
                    FlowDirective::Continue => match entries.get(index + 1) {
                        Some(next) if mode == Mode::Sequence => {
                            self.edge(&exit.from, next, exit.label.clone(), exit.style)
                        }
                        _ => outs.push(out(exit.label.clone(), false)),
                    },
                    FlowDirective::Exit => {
                        outs.push(out(exit.label.clone().or(Some("exit".into())), true))
                    }
                    FlowDirective::End => {
                        let label = exit.label.clone().or(Some("end".into()));
                        self.edge(&exit.from, END, label, exit.style);
                    }
                    FlowDirective::Goto(target) => match self.targets.get(&target.pointer) {
                        Some(position) => {
                            let to = entries.get(position).cloned().unwrap_or_default();
                            let label = exit.label.clone();
                            if position <= index {
                                self.back_edge(&exit.from, &to, label, exit.style);
                            } else {
                                self.edge(&exit.from, &to, label, exit.style);
                            }
                        }
                        // The compiler rejects this (it resolved nothing); draw it rather than
                        // fail.
                        None => {
                            let label =
                                format!("then {} (no such task)", shorten(&target.name, 30));
                            self.edge(&exit.from, END, Some(label), exit.style);
                        }
                    },
                }
            }
        }
        let entries = match mode {
            Mode::Sequence => entries.into_iter().take(1).collect(),
            Mode::Parallel => entries,
        };
        ListPiece {
            items,
            entries,
            outs,
        }
    }

    /// A task, preceded by a decision when it has an `if`.
    pub(super) fn task(&mut self, task: &Task) -> Piece {
        let mut piece = self.task_body(task);
        if let Some(condition) = &task.common.if_ {
            let lines = vec![format!("if {}", label::condition(condition))];
            let decision = self.node("if", &task.pointer, lines, Shape::Condition);
            self.edge(
                &decision.id,
                &piece.entry,
                Some("true".into()),
                EdgeStyle::Flow,
            );
            piece.exits.push(Exit {
                from: decision.id.clone(),
                label: Some("false".into()),
                style: EdgeStyle::Skip,
                directive: FlowDirective::Continue,
            });
            piece.entry = decision.id.clone();
            piece.items.insert(0, Item::Node(decision));
        }
        piece
    }

    fn task_body(&mut self, task: &Task) -> Piece {
        let then = task.common.then.clone();
        match &task.kind {
            TaskKind::Do(body) => {
                let inner = self.list(&body.do_, Mode::Sequence);
                let entry = inner.entries.first().cloned().unwrap_or_default();
                let cluster = self.cluster(task, inner.items);
                Piece {
                    items: vec![cluster],
                    entry,
                    exits: outs_to_exits(inner.outs, &then),
                }
            }
            TaskKind::For(for_) => self.for_loop(task, for_),
            TaskKind::Fork(fork) => {
                let lines = vec![if fork.compete { "compete" } else { "fork" }.to_string()];
                let head = self.node("t", &task.pointer, lines, Shape::Fork);
                let join_lines = vec![if fork.compete { "first done" } else { "join" }.to_string()];
                let join = self.node("j", &task.pointer, join_lines, Shape::Join);
                let branches = self.list(&fork.branches, Mode::Parallel);
                for entry in &branches.entries {
                    self.edge(&head.id, entry, None, EdgeStyle::Flow);
                }
                for out in branches.outs {
                    self.edge(&out.from, &join.id, out.label, out.style);
                }
                let (entry, exit_from) = (head.id.clone(), join.id.clone());
                let mut items = vec![Item::Node(head)];
                items.extend(branches.items);
                items.push(Item::Node(join));
                Piece {
                    items: vec![self.cluster(task, items)],
                    entry,
                    exits: vec![exit(exit_from, None, then)],
                }
            }
            TaskKind::Try(try_) => self.try_catch(task, try_),
            TaskKind::Listen(listen) => {
                let body = listen.foreach.as_ref().and_then(|f| f.do_.as_ref());
                match body {
                    Some(body) => self.each_event(task, body),
                    None => self.simple(task),
                }
            }
            TaskKind::Call(_) => {
                match task.child_lists().first() {
                    // An AsyncAPI subscription with a `foreach` runs a body per message.
                    Some(body) => self.each_event(task, body),
                    None => self.simple(task),
                }
            }
            TaskKind::Raise(_) => {
                let node = self.node("t", &task.pointer, label::task_lines(task), Shape::Task);
                if self.try_depth == 0 {
                    self.fault_used = true;
                    self.edge(&node.id, FAULT, None, EdgeStyle::Error);
                }
                Piece {
                    entry: node.id.clone(),
                    items: vec![Item::Node(node)],
                    exits: Vec::new(),
                }
            }
            TaskKind::Switch(switch) => {
                let node = self.node("t", &task.pointer, label::task_lines(task), Shape::Decision);
                let mut exits: Vec<Exit> = switch
                    .cases
                    .iter()
                    .map(|case| {
                        let label = match &case.when {
                            Some(when) => label::condition(when),
                            None => "default".into(),
                        };
                        exit(node.id.clone(), Some(label), case.then.clone())
                    })
                    .collect();
                if switch.cases.iter().all(|case| case.when.is_some()) {
                    exits.push(exit(node.id.clone(), Some("no match".into()), then));
                }
                Piece {
                    entry: node.id.clone(),
                    items: vec![Item::Node(node)],
                    exits,
                }
            }
            TaskKind::Emit(_) | TaskKind::Run(_) | TaskKind::Set(_) | TaskKind::Wait(_) => {
                self.simple(task)
            }
        }
    }

    fn simple(&mut self, task: &Task) -> Piece {
        let node = self.node("t", &task.pointer, label::task_lines(task), Shape::Task);
        Piece {
            entry: node.id.clone(),
            exits: vec![exit(node.id.clone(), None, task.common.then.clone())],
            items: vec![Item::Node(node)],
        }
    }

    fn cluster(&mut self, task: &Task, items: Vec<Item>) -> Item {
        let id = self.ids.for_pointer("c", &task.pointer);
        self.task_ids
            .entry(task.pointer.clone())
            .or_insert_with(|| id.clone());
        Item::Cluster(Cluster {
            id,
            title: label::cluster_title(task),
            items,
        })
    }

    /// A loop: a head node that runs the body once per item, and leaves when items run out.
    fn looping(&mut self, task: &Task, head_lines: Vec<String>, body: &TaskList) -> Piece {
        let head = self.node("t", &task.pointer, head_lines, Shape::Loop);
        let inner = self.list(body, Mode::Sequence);
        for entry in &inner.entries {
            self.edge(&head.id, entry, None, EdgeStyle::Flow);
        }
        for out in inner.outs {
            let label = out.label.or(Some("next".into()));
            self.back_edge(&out.from, &head.id, label, out.style);
        }
        let entry = head.id.clone();
        let mut items = vec![Item::Node(head)];
        items.extend(inner.items);
        Piece {
            items: vec![self.cluster(task, items)],
            exits: vec![exit(
                entry.clone(),
                Some("done".into()),
                task.common.then.clone(),
            )],
            entry,
        }
    }

    fn for_loop(&mut self, task: &Task, for_: &ForTask) -> Piece {
        let mut lines = vec![
            format!("for each {}", shorten(&for_.each, 20)),
            format!("in {}", label::condition(&for_.in_)),
        ];
        if let Some(while_) = &for_.while_ {
            lines.push(format!("while {}", label::condition(while_)));
        }
        self.looping(task, lines, &for_.do_)
    }

    /// `listen` or an AsyncAPI subscription with a `foreach` body: a loop over what arrives.
    fn each_event(&mut self, task: &Task, body: &TaskList) -> Piece {
        // The cluster title carries the name; the head says what arrives and that it loops.
        let mut lines: Vec<String> = label::task_lines(task).into_iter().skip(1).collect();
        lines.push("for each event".into());
        self.looping(task, lines, body)
    }

    fn try_catch(&mut self, task: &Task, try_: &TryTask) -> Piece {
        let then = task.common.then.clone();
        self.try_depth += 1;
        let body = self.list(&try_.try_, Mode::Sequence);
        self.try_depth -= 1;
        let entry = body.entries.first().cloned().unwrap_or_default();
        let try_cluster = self.cluster(task, body.items);
        let try_id = match &try_cluster {
            Item::Cluster(cluster) => cluster.id.clone(),
            Item::Node(node) => node.id.clone(),
        };

        let catch = &try_.catch;
        let mut catch_lines = vec!["catch".to_string()];
        if let Some(name) = &catch.as_ {
            catch_lines.push(format!("as ${}", shorten(name, 20)));
        }
        let handler = self.node("k", &catch.pointer, catch_lines, Shape::Catch);
        let handler_id = handler.id.clone();
        self.edge(
            &try_id,
            &handler_id,
            Some(label::caught(catch)),
            EdgeStyle::Error,
        );
        let retry = label::retry(catch, self.document);

        let mut exits = outs_to_exits(body.outs, &then);
        let mut items = vec![try_cluster];
        // With a retry policy the try only completes through its body: after the handling
        // (`catch.do`, if any) it runs again, or the error propagates once the policy gives up
        // (decision 6). Without one, the handled error continues with the try's `then`.
        let retry_from = |builder: &mut Self, from: &str| {
            if let Some(retry) = &retry {
                builder.back_edge(from, &try_id, Some(retry.clone()), EdgeStyle::Retry);
                if builder.try_depth == 0 {
                    builder.fault_used = true;
                    builder.edge(
                        from,
                        FAULT,
                        Some("retries exhausted".into()),
                        EdgeStyle::Error,
                    );
                }
            }
        };
        match &catch.do_ {
            Some(list) => {
                let handled = self.list(list, Mode::Sequence);
                for entry in &handled.entries {
                    self.edge(&handler_id, entry, None, EdgeStyle::Flow);
                }
                if retry.is_some() {
                    for out in &handled.outs {
                        retry_from(self, &out.from);
                    }
                } else {
                    exits.extend(outs_to_exits(handled.outs, &then));
                }
                let mut catch_items = vec![Item::Node(handler)];
                catch_items.extend(handled.items);
                items.push(Item::Cluster(Cluster {
                    id: self.ids.for_pointer("c", &catch.pointer),
                    title: format!("{} · catch", shorten(&task.name, 40)),
                    items: catch_items,
                }));
            }
            None => {
                if retry.is_some() {
                    retry_from(self, &handler_id);
                } else {
                    exits.push(exit(handler_id, None, then));
                }
                items.push(Item::Node(handler));
            }
        }
        Piece {
            items,
            entry,
            exits,
        }
    }
}

fn exit(from: String, label: Option<String>, directive: FlowDirective) -> Exit {
    Exit {
        from,
        label,
        style: EdgeStyle::Flow,
        directive,
    }
}

/// What left a nested list now leaves the task that owns it, through that task's `then`.
fn outs_to_exits(outs: Vec<Out>, then: &FlowDirective) -> Vec<Exit> {
    outs.into_iter()
        .map(|out| Exit {
            from: out.from,
            label: out.label,
            style: out.style,
            directive: then.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::fixtures;

    const HEAD: &str = "document: {dsl: '1.0.3', namespace: t, name: g, version: '1.0.0'}\n";

    fn graph(body: &str) -> Graph {
        let (document, targets) = fixtures::compiled(&format!("{HEAD}{body}"));
        build(&document, &targets)
    }

    /// Without schema and analysis, for documents those would reject.
    fn unchecked_graph(body: &str) -> Graph {
        build(
            &fixtures::parsed(&format!("{HEAD}{body}")),
            &Targets::default(),
        )
    }

    /// Edges as `from -> to [label]`, the way a person checks a picture.
    fn edges(graph: &Graph) -> Vec<String> {
        graph
            .edges
            .iter()
            .map(|e| match &e.label {
                Some(label) => format!("{} -> {} [{label}]", e.from, e.to),
                None => format!("{} -> {}", e.from, e.to),
            })
            .collect()
    }

    #[test]
    fn exit_leaves_the_nested_list_and_continues_after_its_owner() {
        let g = graph(
            "do:\n  - outer:\n      do:\n        - a:\n            set: {x: 1}\n            \
             then: exit\n        - b:\n            set: {x: 2}\n  - after:\n      set: {y: 1}\n",
        );
        assert_eq!(
            edges(&g),
            [
                "wf_start -> t_do_0_outer_do_0_a",
                "t_do_0_outer_do_0_a -> t_do_1_after [exit]",
                "t_do_0_outer_do_1_b -> t_do_1_after",
                "t_do_1_after -> wf_end",
            ]
        );
        assert!(g.is_cluster("c_do_0_outer"));
    }

    #[test]
    fn switch_cases_are_labelled_and_no_match_follows_the_task_then() {
        let g = graph(
            "do:\n  - route:\n      switch:\n        - big:\n            when: .n > 9\n            \
             then: large\n        - tiny:\n            when: ${ .n < 1 }\n            then: end\n      \
             then: exit\n  - small:\n      set: {v: 1}\n  - large:\n      set: {v: 1}\n      then: route\n",
        );
        assert_eq!(
            edges(&g),
            [
                "wf_start -> t_do_0_route",
                "t_do_0_route -> t_do_2_large [.n > 9]",
                "t_do_0_route -> wf_end [.n < 1]",
                "t_do_0_route -> wf_end [no match]",
                "t_do_1_small -> t_do_2_large",
                "t_do_2_large -> t_do_0_route",
            ]
        );
        let back: Vec<bool> = g.edges.iter().map(|e| e.backward).collect();
        assert_eq!(back, [false, false, false, false, false, true]);
    }

    #[test]
    fn if_becomes_a_condition_with_a_skip_path() {
        let g = graph(
            "do:\n  - maybe:\n      if: .go\n      set: {v: 1}\n  - next:\n      set: {v: 1}\n",
        );
        assert_eq!(
            edges(&g),
            [
                "wf_start -> if_do_0_maybe",
                "if_do_0_maybe -> t_do_0_maybe [true]",
                "if_do_0_maybe -> t_do_1_next [false]",
                "t_do_0_maybe -> t_do_1_next",
                "t_do_1_next -> wf_end",
            ]
        );
        let skip = g.edges.iter().find(|e| e.label.as_deref() == Some("false"));
        assert_eq!(skip.map(|e| e.style), Some(EdgeStyle::Skip));
        let shapes: Vec<Shape> = g.nodes().iter().map(|n| n.shape).collect();
        assert_eq!(
            shapes,
            [
                Shape::Start,
                Shape::Condition,
                Shape::Task,
                Shape::Task,
                Shape::End
            ]
        );
    }

    #[test]
    fn raise_faults_the_run_unless_a_try_surrounds_it() {
        let g = graph(
            "do:
  - guard:
      try:
        - inner:
            raise:
              error: {type: https://e/x, status: 500}
      catch:
        retry:
          limit: {attempt: {count: 2}}
  - outer:
      raise:
        error: {type: https://e/y, status: 500}
",
        );
        assert_eq!(
            edges(&g),
            [
                "wf_start -> t_do_0_guard_try_0_inner",
                "c_do_0_guard -> k_do_0_guard_catch [any error]",
                "k_do_0_guard_catch -> c_do_0_guard [retry ×2]",
                "k_do_0_guard_catch -> wf_fault [retries exhausted]",
                // `guard` never completes: its body always raises and its retries run out.
                "t_do_1_outer -> wf_fault",
            ]
        );
        let styles: Vec<EdgeStyle> = g.edges.iter().map(|e| e.style).collect();
        assert_eq!(
            styles,
            [
                EdgeStyle::Flow,
                EdgeStyle::Error,
                EdgeStyle::Retry,
                EdgeStyle::Error,
                EdgeStyle::Error
            ]
        );
    }

    #[test]
    fn loops_forks_and_unknown_targets() {
        let g = unchecked_graph(
            "do:\n  - each:\n      for: {in: .xs}\n      do:\n        - one:\n            set: {v: 1}\n  \
             - both:\n      fork:\n        compete: true\n        branches:\n          - l:\n              \
             set: {v: 1}\n          - r:\n              set: {v: 1}\n              then: nowhere\n",
        );
        assert_eq!(
            edges(&g),
            [
                "wf_start -> t_do_0_each",
                "t_do_0_each -> t_do_0_each_do_0_one",
                "t_do_0_each -> t_do_1_both [done]",
                "t_do_0_each_do_0_one -> t_do_0_each [next]",
                "t_do_1_both -> t_do_1_both_fork_branches_0_l",
                "t_do_1_both -> t_do_1_both_fork_branches_1_r",
                "t_do_1_both_fork_branches_0_l -> j_do_1_both",
                "t_do_1_both_fork_branches_1_r -> wf_end [then nowhere (no such task)]",
                "j_do_1_both -> wf_end",
            ]
        );
    }

    /// Over every document the tests know: ids are safe, unique, and every edge end exists.
    #[test]
    fn every_graph_is_well_formed() {
        let mut documents = fixtures::ctk_documents();
        if let Some(dir) = fixtures::spec_dir("examples") {
            documents.extend(fixtures::documents_in(&dir));
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        documents.extend(fixtures::documents_in(&root.join("workflows")));
        documents.extend(fixtures::documents_in(&root.join("tests/fixtures/graph")));
        assert!(!documents.is_empty());
        let keywords = [
            "end",
            "graph",
            "subgraph",
            "flowchart",
            "node",
            "edge",
            "digraph",
        ];
        for (name, document) in &documents {
            let g = build(document, &fixtures::targets(name, document));
            let mut ids = std::collections::HashSet::new();
            fn collect(items: &[Item], ids: &mut std::collections::HashSet<String>, name: &str) {
                for item in items {
                    let id = match item {
                        Item::Node(node) => &node.id,
                        Item::Cluster(cluster) => {
                            collect(&cluster.items, ids, name);
                            &cluster.id
                        }
                    };
                    assert!(ids.insert(id.clone()), "{name}: duplicate id {id}");
                }
            }
            collect(&g.items, &mut ids, name);
            for id in &ids {
                let safe = id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && id.starts_with(|c: char| c.is_ascii_alphabetic());
                assert!(safe && !keywords.contains(&id.as_str()), "{name}: id {id}");
            }
            for edge in &g.edges {
                assert!(ids.contains(&edge.from), "{name}: edge from {}", edge.from);
                assert!(ids.contains(&edge.to), "{name}: edge to {}", edge.to);
            }
            assert!(
                g.edges.iter().any(|e| e.from == START),
                "{name}: no start edge"
            );
        }
    }
}
