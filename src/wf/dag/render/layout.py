"""Column-per-level coordinates for drawing a DAG (the html format's SVG)."""

from __future__ import annotations

from dataclasses import dataclass

from wf.dag.model import DAG

NODE_WIDTH = 200
NODE_HEIGHT = 46
COLUMN_GAP = 96
ROW_GAP = 14
MARGIN = 28
HEADER = 30


@dataclass(frozen=True)
class Box:
    """A node's rectangle; ``index`` is its position in the sequential order."""

    index: int
    x: float
    y: float
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT

    @property
    def left(self) -> tuple[float, float]:
        """Middle of the left side, where incoming edges end."""
        return self.x, self.y + self.height / 2

    @property
    def right(self) -> tuple[float, float]:
        """Middle of the right side, where outgoing edges start."""
        return self.x + self.width, self.y + self.height / 2


@dataclass(frozen=True)
class GraphLayout:
    """Where every node (and the global trap, if any) sits, and the drawing's size."""

    boxes: dict[str, Box]
    columns: list[float]
    trap: Box | None
    width: float
    height: float


def layout_dag(dag: DAG) -> GraphLayout:
    """One column per level; inside a column nodes are ordered by the mean height of their
    dependencies (ties by ID), which keeps most edges short and flat, and columns are centred."""
    step = NODE_HEIGHT + ROW_GAP
    tallest = max((len(level) for level in dag.levels), default=0)
    body = max(tallest * step - ROW_GAP, NODE_HEIGHT)
    order = {node_id: i for i, node_id in enumerate(dag.sequential_order())}
    centre: dict[str, float] = {}
    boxes: dict[str, Box] = {}
    columns: list[float] = []
    for index, level in enumerate(dag.levels):
        x = MARGIN + index * (NODE_WIDTH + COLUMN_GAP)
        columns.append(x)
        ranked = level
        if index:

            def weight(node_id: str) -> tuple[float, str]:
                deps = dag.nodes[node_id].dependencies
                return (sum(centre[d] for d in deps) / len(deps), node_id)

            ranked = sorted(level, key=weight)
        top = MARGIN + HEADER + (body - (len(level) * step - ROW_GAP)) / 2
        for row, node_id in enumerate(ranked):
            y = top + row * step
            boxes[node_id] = Box(order[node_id], x, y)
            centre[node_id] = y + NODE_HEIGHT / 2
    width = MARGIN * 2 + max(len(dag.levels), 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP
    trap = None
    if dag.global_trap is not None:
        trap = Box(-1, width - MARGIN + COLUMN_GAP, MARGIN + HEADER + (body - NODE_HEIGHT) / 2)
        width += COLUMN_GAP + NODE_WIDTH
    return GraphLayout(boxes, columns, trap, width, MARGIN * 2 + HEADER + body)


def num(value: float) -> str:
    """A coordinate for SVG text: at most one decimal, never exponent notation."""
    return f"{value:.1f}".removesuffix(".0")


def edge_path(start: tuple[float, float], end: tuple[float, float]) -> str:
    """An SVG cubic Bézier from ``start`` to ``end`` that leaves and arrives horizontally."""
    (x1, y1), (x2, y2) = start, end
    bend = max((x2 - x1) / 2, 40.0)
    c1, c2 = num(x1 + bend), num(x2 - bend)
    return f"M{num(x1)},{num(y1)} C{c1},{num(y1)} {c2},{num(y2)} {num(x2)},{num(y2)}"
