"""The generation metadata image generators write into PNG text chunks, decoded.

Each reader takes the text chunks (describe/provenance/metadata.py) and returns a Generation or
None; a chunk that is there but unusable (bad JSON, an unexpected shape) adds a note.
The formats, as the tools write them:

- AUTOMATIC1111 / Forge / SD.Next: ``parameters`` = prompt, then ``Negative prompt: …``,
  then one line ``Steps: 30, Sampler: …, Seed: …, Model: …`` (also in a JPEG's EXIF
  UserComment, which describe/provenance.py hands to the same parser).
- ComfyUI: ``prompt`` = the executed graph as JSON {node id: {class_type, inputs}};
  ``workflow`` = the editor's graph (layout included).
- InvokeAI: ``invokeai_metadata`` JSON (positive_prompt, negative_prompt, model, seed);
  before 3.0 ``sd-metadata``.
- Fooocus: ``parameters`` as JSON (prompt, negative_prompt, base_model, seed) with
  ``fooocus_scheme`` = "fooocus"; with the "a1111" scheme, A1111's text.
- NovelAI: ``Software`` = "NovelAI", ``Description`` = prompt, ``Comment`` = JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# A1111's own pattern for the settings line (modules/infotext_utils.py: re_param)
_PARAM = re.compile(r'\s*([\w ]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_NEGATIVE = "Negative prompt:"
# where a ComfyUI sampler's positive conditioning comes in, and text inputs on the way
_POSITIVE_INPUTS = ("positive", "conditioning", "conditioning_1", "conditioning_2", "conditioning_to")
_TEXT_INPUTS = ("text", "text_g", "text_l", "string", "prompt", "value", "text_positive")
_MODEL_INPUTS = ("ckpt_name", "unet_name", "model_name")
_MAX_GRAPH_DEPTH = 32


@dataclass
class Generation:
    source: str  # file:a1111, file:comfyui, …
    generator: str
    prompt: str = ""
    negative_prompt: str = ""
    model: str = ""
    seed: str = ""
    settings: dict[str, str] = field(default_factory=dict)


def _json(text: str, key: str, notes: list[str]) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        notes.append(f"text chunk {key!r} is not valid JSON: ignored")
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else str(value) if isinstance(value, int | float) else ""


def parse_a1111(text: str, source: str = "file:a1111") -> Generation | None:
    """A1111's infotext; None when the text does not look like one."""
    lines = text.strip().split("\n")
    settings: dict[str, str] = {}
    if lines and lines[-1].lstrip().startswith("Steps:"):
        settings = {k.strip(): v.strip().strip('"') for k, v in _PARAM.findall(lines.pop())}
    body = "\n".join(lines)
    prompt, found, negative = body.partition(_NEGATIVE)
    if not settings and not found:
        return None
    # Forge writes "Version: f2.0.1…", A1111 "Version: v1.10.1"
    forge = settings.get("Version", "").startswith("f")
    return Generation(
        source=source,
        generator="Forge" if forge else "AUTOMATIC1111",
        prompt=prompt.strip(),
        negative_prompt=negative.strip(),
        model=settings.get("Model", ""),
        seed=settings.get("Seed", ""),
        settings={k: v for k, v in settings.items() if k not in ("Model", "Seed")},
    )


def _get(data: dict[str, Any], *keys: str) -> Any:
    """The first of `keys` present, case and separator insensitive (Fooocus writes both)."""
    folded = {k.lower().replace(" ", "_"): v for k, v in data.items() if isinstance(k, str)}
    for key in keys:
        if key in folded:
            return folded[key]
    return None


def parse_fooocus(text: str, notes: list[str]) -> Generation | None:
    data = _json(text, "parameters", notes)
    if not isinstance(data, dict):
        return None
    return Generation(
        source="file:fooocus",
        generator=_str(_get(data, "version")) or "Fooocus",
        prompt=_str(_get(data, "prompt")),
        negative_prompt=_str(_get(data, "negative_prompt")),
        model=_str(_get(data, "base_model")),
        seed=_str(_get(data, "seed")),
        settings={k: _str(v) for k, v in data.items() if k.lower() in ("steps", "sampler", "guidance_scale")},
    )


def parse_invokeai(text: str, key: str, notes: list[str]) -> Generation | None:
    data = _json(text, key, notes)
    if not isinstance(data, dict):
        return None
    if key == "sd-metadata":  # InvokeAI 2.x: {"image": {"prompt": [{"prompt": …}] | "…", "seed": …}}
        image = _dict(data.get("image"))
        raw = image.get("prompt")
        prompt = (
            raw[0].get("prompt", "") if isinstance(raw, list) and raw and isinstance(raw[0], dict) else raw
        )
        model_weights, seed = _str(data.get("model_weights")), _str(image.get("seed"))
        return Generation("file:invokeai", "InvokeAI", _str(prompt), "", model_weights, seed)
    model = data.get("model")
    name = _get(model, "name", "model_name") if isinstance(model, dict) else model
    return Generation(
        source="file:invokeai",
        generator="InvokeAI",
        prompt=_str(data.get("positive_prompt")),
        negative_prompt=_str(data.get("negative_prompt")),
        model=_str(name),
        seed=_str(data.get("seed")),
        settings={k: _str(data[k]) for k in ("steps", "cfg_scale", "scheduler") if k in data},
    )


def parse_novelai(chunks: dict[str, str], notes: list[str]) -> Generation | None:
    data = _json(chunks["Comment"], "Comment", notes) if "Comment" in chunks else None
    data = data if isinstance(data, dict) else {}
    return Generation(
        source="file:novelai",
        generator="NovelAI",
        prompt=chunks.get("Description", "") or _str(data.get("prompt")),
        negative_prompt=_str(data.get("uc")),
        model=chunks.get("Source", ""),
        seed=_str(data.get("seed")),
        settings={k: _str(data[k]) for k in ("steps", "sampler", "scale") if k in data},
    )


def _texts(graph: dict[str, Any], node_id: str, seen: set[str], depth: int) -> list[str]:
    """The prompt texts feeding node `node_id`, following links ([node id, output])."""
    node = graph.get(node_id)
    if node_id in seen or depth > _MAX_GRAPH_DEPTH or not isinstance(node, dict):
        return []
    seen.add(node_id)
    inputs = _dict(node.get("inputs"))
    out: list[str] = []
    for name, value in inputs.items():
        if name in _TEXT_INPUTS and isinstance(value, str) and value.strip():
            out.append(value.strip())
        elif isinstance(value, list) and len(value) == 2 and (name in _TEXT_INPUTS or "conditioning" in name):
            out += _texts(graph, str(value[0]), seen, depth + 1)
    return out


def parse_comfyui(chunks: dict[str, str], notes: list[str]) -> Generation | None:
    graph = _json(chunks["prompt"], "prompt", notes) if "prompt" in chunks else None
    if isinstance(graph, dict):
        found = _from_graph(graph)
        if found:
            return found
    if "workflow" in chunks:
        return _from_workflow(chunks["workflow"], notes)
    return None


def _from_graph(graph: dict[str, Any]) -> Generation | None:
    nodes = {str(k): v for k, v in graph.items() if isinstance(v, dict)}
    gen = Generation(source="file:comfyui", generator="ComfyUI")
    for node in nodes.values():
        inputs = _dict(node.get("inputs"))
        for key in _MODEL_INPUTS:
            if not gen.model and isinstance(inputs.get(key), str):
                gen.model = inputs[key]
        if "positive" not in inputs or gen.prompt:
            continue
        for side in ("positive", "negative"):
            link = inputs.get(side)
            if isinstance(link, list) and link:
                text = "\n".join(dict.fromkeys(_texts(nodes, str(link[0]), set(), 0)))
                setattr(gen, "prompt" if side == "positive" else "negative_prompt", text)
        seed = inputs.get("seed", inputs.get("noise_seed"))
        gen.seed = _str(seed) if not isinstance(seed, list) else ""
        gen.settings = {
            k: _str(inputs[k]) for k in ("steps", "cfg", "sampler_name", "scheduler") if k in inputs
        }
    return gen if gen.prompt else None


def _from_workflow(text: str, notes: list[str]) -> Generation | None:
    """The editor's graph: no links resolved here, so the first text encoder not titled
    negative is taken as the prompt."""
    data = _json(text, "workflow", notes)
    nodes = data.get("nodes") if isinstance(data, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or "CLIPTextEncode" not in _str(node.get("type")):
            continue
        if "neg" in _str(node.get("title")).lower():
            continue
        widgets = node.get("widgets_values")
        text = (
            next((w for w in widgets if isinstance(w, str) and w.strip()), "")
            if isinstance(widgets, list)
            else ""
        )
        if text:
            return Generation(source="file:comfyui", generator="ComfyUI", prompt=text.strip())
    return None


def read_generation(chunks: dict[str, str], notes: list[str]) -> Generation | None:
    """The first generator whose metadata is in `chunks`."""
    parameters = chunks.get("parameters", "")
    if parameters.lstrip().startswith("{"):
        return parse_fooocus(parameters, notes)
    if parameters:
        found = parse_a1111(parameters)
        if found:
            return found
        # some tools write a bare prompt under the same key
        return Generation(source="file:a1111", generator="", prompt=parameters.strip())
    if "prompt" in chunks or "workflow" in chunks:
        return parse_comfyui(chunks, notes)
    for key in ("invokeai_metadata", "sd-metadata"):
        if key in chunks:
            return parse_invokeai(chunks[key], key, notes)
    if chunks.get("Software", "").startswith("NovelAI"):
        return parse_novelai(chunks, notes)
    return None
