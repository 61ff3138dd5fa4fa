"""``paperfeed eval``: search-quality evaluation commands (``eval beir DIR``).

``eval beir`` scores keyword, semantic and hybrid search on a BEIR-format directory in a
throwaway instance (see :mod:`paperfeed.search.evaluation`) and prints one JSON object. The
instance's own data is never read or written; only the search settings are taken from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from paperfeed.commands import settings_of


@click.group("eval")
def eval_group() -> None:
    """Measure search quality on evaluation datasets."""


@eval_group.command("beir")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--split", default="test", show_default=True, help="Which qrels/<split>.tsv to score.")
@click.option(
    "--mode",
    type=click.Choice(["keyword", "semantic", "hybrid", "all"]),
    default="all",
    show_default=True,
    help="Search mode(s) to evaluate.",
)
@click.option(
    "--limit-queries", type=click.IntRange(min=1), default=None, help="Use only the first N queries."
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=8, max=512),
    default=None,
    help="Cut embedded documents here (default: PAPERFEED_EMBEDDING_MAX_TOKENS).",
)
@click.option(
    "--vectors",
    "vectors_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Corpus vectors (.npy, corpus order): read if it exists, else written after embedding. "
    "Default: a cache file in DIRECTORY (in ~/.cache/paperfeed/eval when DIRECTORY is read-only).",
)
@click.option("--no-cache", is_flag=True, help="Embed the corpus without reading or writing a cache file.")
@click.option(
    "--json-out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the JSON here.",
)
@click.pass_context
def eval_beir(
    ctx: click.Context,
    directory: Path,
    split: str,
    mode: str,
    limit_queries: int | None,
    max_tokens: int | None,
    vectors_path: Path | None,
    no_cache: bool,
    json_out: Path | None,
) -> None:
    """Score search on the BEIR-format dataset in DIRECTORY; prints JSON (nDCG@10, recall@100,
    MRR@10, latency per mode)."""
    from paperfeed.progress import reporter
    from paperfeed.search.beir import load_beir
    from paperfeed.search.evaluation import (
        MODES,
        EvalInstance,
        EvalSettings,
        corpus_vectors,
        default_vectors_cache,
        summarise,
    )
    from paperfeed.search.semantic import load_embedder

    settings = settings_of(ctx)
    dataset = load_beir(directory, split).limit_queries(limit_queries)
    modes = list(MODES) if mode == "all" else [mode]
    eval_settings = EvalSettings.from_settings(settings, max_tokens=max_tokens)
    embedder = vectors = None
    vector_source = None
    if mode != "keyword":
        model_settings = settings.model_copy(update={"embedding_max_tokens": eval_settings.max_tokens})
        embedder = load_embedder(model_settings)  # queries: as the server embeds them
        cache = (
            None
            if no_cache
            else vectors_path or default_vectors_cache(dataset, embedder.name, eval_settings.max_tokens)
        )
        corpus_embedder = load_embedder(model_settings, bulk=True)  # as `paperfeed index` embeds papers
        with reporter("embedding corpus") as rep:
            vectors, vector_source = corpus_vectors(
                dataset, corpus_embedder, cache=cache, progress=rep.update
            )
    with (
        EvalInstance(dataset, eval_settings, vectors=vectors, embedder=embedder) as instance,
        reporter("queries") as rep,
    ):
        runs = instance.run(modes, progress=rep.update)
    by_mode, by_type = summarise(dataset, runs)
    result = {
        "dataset": dataset.name,
        "split": split,
        "queries": len(dataset.queries),
        "skipped_queries": dataset.skipped_queries,
        "docs": len(dataset.corpus),
        "modes": by_mode,
        "by_query_type": by_type,
        "settings": {
            **eval_settings.as_dict(),
            "embedding_model": embedder.name if embedder is not None else None,
            "vectors": vector_source,
        },
    }
    data = orjson.dumps(result, option=orjson.OPT_INDENT_2)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_bytes(data + b"\n")
    sys.stdout.write(data.decode() + "\n")
