"""An import-linter contract type: no import cycle among the modules of some packages.

Registered in ``pyproject.toml`` (``contract_types``), so ``lint-imports`` (in ``make
lint``) checks it beside the layering contracts. Every import in import-linter's graph
counts, those under ``if TYPE_CHECKING:`` and inside functions included: a cycle that
only type hints close still ties the modules together for whoever reads or changes them.

import-linter's own ``acyclic_siblings`` compares packages, not modules, and misses a
package whose ``__init__`` imports a module that imports the package back; this checks
the modules themselves, and a broken contract names every cycle's modules with the
lines that close it.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, TypedDict

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output

#: Cycles shown per group of modules that import each other (the rest are counted).
SHOWN_CYCLES = 10


class Step(TypedDict):
    """One import of a cycle, with the lines that make it."""

    importer: str
    imported: str
    lines: list[int]


class AcyclicContract(Contract):
    """Kept when no module of ``containers`` imports itself, directly or not."""

    type_name = "acyclic"

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        """Find the groups of modules that import each other, and a cycle through each."""
        modules: set[str] = set()
        for container in self.containers:
            modules |= {container} | graph.find_descendants(container)
        imports = {m: sorted(graph.find_modules_directly_imported_by(m) & modules) for m in modules}
        groups = [sorted(g) for g in _strongly_connected(imports) if len(g) > 1]
        output.verbose_print(verbose, f"{len(modules)} modules, {len(groups)} import cycles")
        found: list[dict[str, Any]] = []
        for group in sorted(groups):
            cycles = _cycles(graph, group, imports)
            found.append(
                {
                    "modules": group,
                    "cycles": [_steps(graph, c) for c in cycles[:SHOWN_CYCLES]],
                    "more": max(0, len(cycles) - SHOWN_CYCLES),
                }
            )
        return ContractCheck(kept=not found, metadata={"groups": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        """Each group's modules, then the imports that close each cycle shown."""
        for group in check.metadata["groups"]:
            output.print_error(f"These modules import each other: {', '.join(group['modules'])}")
            output.new_line()
            for cycle in group["cycles"]:
                for n, step in enumerate(cycle):
                    lines = ", ".join(f"l.{line}" for line in step["lines"])
                    text = f"{step['importer']} -> {step['imported']} ({lines})"
                    output.print_error(f"-   {text}" if n == 0 else f"    {text}", bold=False)
                output.new_line()
            if group["more"]:
                output.print_error(f"... and {group['more']} more cycles", bold=False)
                output.new_line()


def _strongly_connected(imports: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of the import graph, without recursion."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(imports):
        if root in index:
            continue
        work = [(root, iter(imports[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(imports[successor])))
                    break
                if successor in on_stack:
                    low[module] = min(low[module], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    components.append(component)
    return components


def _cycles(
    graph: ImportGraph, group: list[str], imports: dict[str, list[str]]
) -> list[tuple[str, ...]]:
    """A shortest cycle through each import inside ``group`` (each cycle once)."""
    members = set(group)
    seen: set[tuple[str, ...]] = set()
    cycles: list[tuple[str, ...]] = []
    for importer in group:
        for imported in imports[importer]:
            if imported not in members:
                continue
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is None:
                continue
            cycle = (importer, *back)  # importer -> imported -> ... -> importer
            start = cycle.index(min(cycle[:-1]))  # one rotation, so each cycle shows once
            key = cycle[start:-1] + cycle[:start]
            if key not in seen:
                seen.add(key)
                cycles.append((*key, key[0]))
    return cycles


def _steps(graph: ImportGraph, cycle: tuple[str, ...]) -> list[Step]:
    """The imports of ``cycle`` (its modules in order, the first again at the end)."""
    steps: list[Step] = []
    for importer, imported in pairwise(cycle):
        details = graph.get_import_details(importer=importer, imported=imported)
        lines = sorted({d["line_number"] for d in details})
        steps.append(Step(importer=importer, imported=imported, lines=lines))
    return steps
