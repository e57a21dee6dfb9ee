"""Report introduction and conclusions become Markdown: convert the HTML saved before.

The old form kept only p, br, strong, em, ul, ol and li (sanitised by nh3 when saved), so
those are the tags converted; any other text is kept as text.
"""

from html import unescape
from html.parser import HTMLParser

from django.db import migrations


class _ToMarkdown(HTMLParser):
    INLINE = {"strong": "**", "b": "**", "em": "*", "i": "*"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[list] = []  # [kind, counter]

    def handle_starttag(self, tag, attrs):
        if tag in self.INLINE:
            self.out.append(self.INLINE[tag])
        elif tag == "br":
            self.out.append("  \n")
        elif tag in ("ul", "ol"):
            self.lists.append([tag, 0])
            self.out.append("\n\n")
        elif tag == "li" and self.lists:
            kind = self.lists[-1]
            kind[1] += 1
            indent = "   " * (len(self.lists) - 1)
            self.out.append(f"\n{indent}{kind[1]}. " if kind[0] == "ol" else f"\n{indent}- ")
        elif tag == "p":
            self.out.append("\n\n")

    def handle_endtag(self, tag):
        if tag in self.INLINE:
            self.out.append(self.INLINE[tag])
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self.out.append("\n\n")
        elif tag == "p":
            self.out.append("\n\n")

    def handle_data(self, data):
        words = " ".join(data.split())
        if words:
            lead = " " if data[0].isspace() else ""
            trail = " " if data[-1].isspace() else ""
            self.out.append(f"{lead}{words}{trail}")


def html_to_markdown(text: str) -> str:
    if "<" not in text:
        return unescape(text)
    parser = _ToMarkdown()
    parser.feed(text)
    parser.close()
    lines = "".join(parser.out).split("\n")
    markdown, blank = [], True
    for line in (line.rstrip() if not line.endswith("  ") else line for line in lines):
        if not line.strip():
            if not blank:
                markdown.append("")
            blank = True
            continue
        markdown.append(line.strip() if not line.endswith("  ") else line.strip() + "  ")
        blank = False
    return "\n".join(markdown).strip()


def forwards(apps, schema_editor):
    Campaign = apps.get_model("surveys", "Campaign")
    for campaign in Campaign.objects.exclude(introduction="", conclusions=""):
        introduction = html_to_markdown(campaign.introduction)
        conclusions = html_to_markdown(campaign.conclusions)
        if (introduction, conclusions) != (campaign.introduction, campaign.conclusions):
            campaign.introduction, campaign.conclusions = introduction, conclusions
            campaign.save(update_fields=["introduction", "conclusions"])


class Migration(migrations.Migration):
    dependencies = [("surveys", "0007_answer_changes_and_history_without_snapshot")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
