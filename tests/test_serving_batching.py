"""The batch a replica runs at (planner.serving.batching, docs/serving.md S5): under
data-parallel attention no smaller batch serves more than the one chosen, checked against
every smaller batch by brute force."""

from __future__ import annotations

import pytest
from replicas import bare_replica

from planner.serving.batching import choose_batch, operate
from planner.serving.model import ServingRequest
from planner.serving.step import batch_rounds, prefill_s
from planner.serving.workloads import WorkloadLibrary


@pytest.fixture(scope="module")
def mixtral():
    return {w.id: w for w in WorkloadLibrary.load(())}["mixtral-8x7b"]


@pytest.mark.parametrize("attention_parallel", [1, 2, 4])
@pytest.mark.parametrize("tpot_ms", [None, 20.0, 40.0])
def test_no_smaller_batch_serves_more_than_the_chosen_one(
    mixtral, attention_parallel: int, tpot_ms: float | None
) -> None:
    """Mixtral with 30K-token prompts (attention reads dominate the step), DP attention over 8
    parts in groups of a (8 / a groups): a step costs the fullest group's attention and the
    fullest part's GEMM rows, so the rate drops just past each multiple of 8 / a and of 8. At
    every memory limit from 1 to 120, with and without a TPOT target, the chosen batch serves
    as much as the best batch below the limit that meets the target (brute force)."""
    replica = bare_replica(
        parallel="ep", tensor_parallel=1, attention_parallel=attention_parallel,
        kv_replication=1.0, layer_floor_s=30e-6, collective_latency_s=6e-6,
    )  # fmt: skip
    assert batch_rounds(replica) == (8 // attention_parallel, 8)
    request = ServingRequest(30000, 1000, tpot_s=None if tpot_ms is None else tpot_ms / 1e3)
    pf = prefill_s(mixtral, replica, 30000, request.prefill_chunk_tokens)
    rates = [operate(mixtral, replica, request, b, pf) for b in range(1, 121)]
    meets = [tpot_ms is None or op.tpot_s <= tpot_ms / 1e3 for op in rates]
    cut_served = 0
    for limit in range(1, 121):
        chosen = choose_batch(mixtral, replica, request, limit)
        feasible = [
            op.output_tokens_per_s
            for op, ok in zip(rates[:limit], meets[:limit], strict=True)
            if ok
        ]
        if not feasible:
            assert chosen is None
            continue
        assert chosen is not None and chosen.batch <= limit
        assert chosen.output_tokens_per_s == pytest.approx(max(feasible), rel=1e-12)
        cut_served += chosen.batch < max(b + 1 for b, ok in enumerate(meets[:limit]) if ok)
    assert cut_served > 0  # a cut batch is chosen somewhere: the brute force has bite
