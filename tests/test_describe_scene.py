"""Box geometry and the detail it gives the paragraph: positions, sizes, relations,
object colours; no models needed."""

from __future__ import annotations

from describe.analyzers.objects import count_objects
from describe.facts import (
    Box,
    Caption,
    Colour,
    ColourFacts,
    CompositionFacts,
    DetectedObject,
    Facts,
    Label,
    LabelFacts,
    ObjectFacts,
    TextFacts,
)
from describe.render.paragraph import render
from describe.render.phrases import caption_parts, render_caption
from describe.render.profiles import ProfileSet
from describe.render.scene import object_entries, placements, relation


def detected(*found: tuple[str, Box]) -> ObjectFacts:
    objects = tuple(DetectedObject(label, 0.9 - i * 0.01, box) for i, (label, box) in enumerate(found))
    return ObjectFacts(objects=objects, counts=count_objects(objects))


def paragraph(
    profiles: ProfileSet, objects: ObjectFacts, colours: ColourFacts | None = None, **more: object
) -> str:
    caption = render_caption(caption_parts(objects, more.get("labels"), None, 0.3, colours))  # type: ignore[arg-type]
    facts = Facts(
        width=640, height=480, objects=objects, colours=colours, caption=Caption(caption, "classic"), **more
    )  # type: ignore[arg-type]
    return render(facts, profiles.get("default"), [])


def test_two_people_left_and_right(profiles: ProfileSet) -> None:
    people = detected(("person", (0.05, 0.3, 0.25, 0.9)), ("person", (0.75, 0.3, 0.95, 0.9)))
    [entry] = object_entries(people)
    assert (entry.count, entry.position) == (2, "sides")
    assert paragraph(profiles, people) == "An image of two people. The two people are on either side."


def test_a_box_filling_the_frame_and_its_colour(profiles: ProfileSet) -> None:
    bike = detected(("motorcycle", (0.02, 0.05, 0.98, 0.97)))
    colours = ColourFacts(object_colours=("red",))
    assert paragraph(profiles, bike, colours) == (
        "An image of a red motorcycle. The motorcycle fills most of the frame."
    )


def test_people_wear_their_colour_and_a_colour_is_not_said_twice() -> None:
    found = detected(("person", (0.4, 0.2, 0.6, 0.9)), ("orange", (0.1, 0.7, 0.2, 0.8)))
    colours = ColourFacts(object_colours=("blue", "orange"))
    assert render_caption(caption_parts(found, None, None, 0.3, colours)) == (
        "An image of a person in blue and an orange."
    )
    # mixed colours among instances name none
    two = detected(("car", (0.0, 0.5, 0.3, 0.8)), ("car", (0.6, 0.5, 0.9, 0.8)))
    assert render_caption(
        caption_parts(two, None, None, 0.3, ColourFacts(object_colours=("red", "blue")))
    ) == ("An image of two cars.")


def test_size_position_and_foreground(profiles: ProfileSet) -> None:
    found = detected(
        ("dog", (0.05, 0.55, 0.35, 0.98)), ("bench", (0.7, 0.4, 0.95, 0.6)), ("bird", (0.48, 0.1, 0.52, 0.14))
    )
    assert paragraph(profiles, found) == (
        "An image of a dog, a bench and a bird. The dog is on the left, in the foreground; "
        "the bench is on the right; the bird is small, in the centre."
    )


def test_relations_from_box_geometry(profiles: ProfileSet) -> None:
    # a cup inside a table that fills the frame, seen from above
    table = detected(("dining table", (0.0, 0.1, 1.0, 1.0)), ("cup", (0.4, 0.4, 0.6, 0.6)))
    text = paragraph(profiles, table)
    assert text == (
        "An image of a dining table and a cup. The cup is on the dining table, which fills most of the frame."
    )
    # a person standing in front of a bus
    bus = detected(("bus", (0.1, 0.1, 0.9, 0.8)), ("person", (0.4, 0.4, 0.5, 0.82)))
    assert "The person is in front of the bus, which fills most of the frame." in paragraph(profiles, bus)
    # two similar boxes side by side
    assert relation((0.1, 0.3, 0.3, 0.8), (0.32, 0.35, 0.5, 0.8), "dog") == "beside"
    # far apart: no relation claimed
    assert relation((0.0, 0.3, 0.1, 0.5), (0.8, 0.3, 0.9, 0.5), "dog") == ""
    # overlapping boxes of something that is not a support are not "on"
    assert relation((0.4, 0.1, 0.6, 0.4), (0.3, 0.3, 0.7, 0.9), "person") == ""


def test_objects_in_the_same_place_are_described_together() -> None:
    found = detected(("horse", (0.3, 0.3, 0.7, 0.8)), ("sheep", (0.35, 0.35, 0.65, 0.75)))
    [together] = placements(object_entries(found))
    assert [o.label for o in together.objects] == ["horse", "sheep"] and together.plural


def test_a_typical_photo_paragraph_has_detail_without_repeats(profiles: ProfileSet) -> None:
    found = detected(
        ("person", (0.05, 0.3, 0.25, 0.95)), ("person", (0.7, 0.3, 0.9, 0.95)), ("dog", (0.4, 0.6, 0.55, 0.9))
    )
    labels = LabelFacts(
        labels=(
            Label("golden retriever", 0.5, "animal", hypernyms=("retriever", "dog")),
            Label("seashore", 0.4, "landscape"),
            Label("sandbar", 0.12, "landscape"),
        )
    )
    colours = ColourFacts(
        palette=(Colour("sky blue", "blue", "#80c0ff", 0.5), Colour("sand", "beige", "#e0d0a0", 0.3)),
        object_colours=("red", "red", "brown"),
        bands=("blue", "", "beige"),
    )
    composition = CompositionFacts(
        orientation="landscape",
        aspect_ratio=1.5,
        brightness=0.6,
        contrast=0.4,
        saturation=0.4,
        sharpness=900.0,
        blurry=False,
        lighting="bright",
        shot="medium",
    )
    text = paragraph(
        profiles, found, colours, labels=labels, text=TextFacts(text="LIFEGUARD"), composition=composition
    )
    assert text == (
        "An image of two people in red and a brown dog, most likely a golden retriever. "
        "The two people are on either side; the dog is in the centre. "
        "The setting looks like a seashore. "
        "The picture is a horizontal medium shot, brightly lit and in focus. "
        "Sky fills the top of the frame, and the bottom is mostly beige. "
        "The main colours are sky blue and sand. Visible text reads “LIFEGUARD”."
    )
    words = [w.strip(".,;“”").lower() for w in text.split()]
    assert 35 <= len(words) <= 80
    assert text.count("colour") == 1  # one colour sentence


def test_nothing_below_the_threshold_is_asserted_in_the_paragraph(profiles: ProfileSet) -> None:
    weak = LabelFacts(labels=(Label("valley", 0.2, "landscape"), Label("alp", 0.05, "landscape")))
    facts = Facts(
        width=1,
        height=1,
        labels=weak,
        caption=Caption(render_caption(caption_parts(None, weak, None, 0.3)), "classic"),
    )
    text = render(facts, profiles.get("default"), [])
    assert text == "An image of what looks like a valley."
    assert "looks like a valley" in text and "setting looks like" not in text


def test_grass_and_trees_are_said_hedged_and_only_when_the_pixels_show_them(profiles: ProfileSet) -> None:
    from describe.facts import Colour, RegionShares

    cow = detected(("cow", (0.3, 0.4, 0.6, 0.8)))
    meadow = ColourFacts(
        palette=(Colour("green", "green", "#33aa33", 0.6),),
        regions=RegionShares(green_below=0.8, green_above=0.4),
    )
    text = paragraph(profiles, cow, meadow)
    assert "Trees or leaves fill the upper part of the frame." in text
    assert "What looks like grass covers the ground." in text
    plain = ColourFacts(palette=(Colour("green", "green", "#33aa33", 0.6),))
    assert "grass" not in paragraph(profiles, cow, plain) and "Trees" not in paragraph(profiles, cow, plain)
