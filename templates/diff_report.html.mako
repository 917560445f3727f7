<%doc>distill diff --format html: one self-contained page (no scripts, no external assets).</%doc>\
<%! from markupsafe import escape as h %>\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>distill diff: ${report.old.manifest.get('release') | h} -&gt; ${report.new.manifest.get('release') | h}</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #111; background: #fff; }
  h1 { font-size: 1.4em; margin: 0 0 .3em; }
  h2 { font-size: 1.15em; margin: 1.4em 0 .4em; border-bottom: 1px solid #ccc; }
  h3 { font-size: 1em; margin: 1em 0 .3em; font-family: ui-monospace, monospace; }
  code, td.code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
  .edited { border: 3px solid #b00; background: #fff0f0; padding: .6em 1em; margin: 1em 0; }
  .edited h2 { color: #b00; border: none; margin-top: .2em; }
  pre.source-diff { background: #fff; border: 1px solid #ccc; padding: .4em; white-space: pre-wrap; }
  pre.source-diff span { display: block; min-height: 1.2em; }
  td.sha { word-break: break-all; min-width: 12em; }
  pre.source-diff .add { background: #e0ffe0; }
  pre.source-diff .del { background: #ffe0e0; }
  table { border-collapse: collapse; margin: .3em 0; }
  th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
  table.sbs { width: 100%; table-layout: fixed; }
  table.sbs td.no { width: 3.5em; color: #777; text-align: right; }
  td.code { white-space: pre-wrap; word-break: break-all; }
  tr.del td.old, tr.chg td.old { background: #ffe0e0; }
  tr.ins td.new, tr.chg td.new { background: #ddf7dd; }
  tr.gap td { background: #f4f4f4; color: #777; text-align: center; }
  .added { color: #060; } .removed { color: #a00; }
  .summary td:first-child { font-weight: 600; }
  @media print {
    body { margin: 0; font-size: 11px; }
    .edited { border-width: 2px; }
    tr, h3 { page-break-inside: avoid; }
    tr.del td.old, tr.chg td.old, tr.ins td.new, tr.chg td.new { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  }
</style>
</head>
<body>
<h1>distill diff</h1>
<table class="summary">
  <tr><td>old</td><td><code>${report.old.label | h}</code>: release ${report.old.manifest.get('release') | h} (${old_range | h})</td></tr>
  <tr><td>new</td><td><code>${report.new.label | h}</code>: release ${report.new.manifest.get('release') | h} (${new_range | h})</td></tr>
% for key, value in data['summary'].items():
  <tr><td>${key.replace('_', ' ') | h}</td><td>${value}</td></tr>
% endfor
  <tr><td>result</td><td>${'differences found' if report.differs else 'no differences'}${' (formatting ignored)' if report.ignore_formatting else ''}</td></tr>
</table>
<% added_title, removed_title = report.titles() %>\
<% changes = report.changes() %>\
<nav id="contents">
<h2>Contents</h2>
<ul>
% if report.edited:
<li><a href="#edited-after-release">Edited after release: ${len(report.edited)} revision(s)</a></li>
% endif
% if report.added or report.removed:
<li><a href="#revisions">${added_title | h}: ${len(report.added)}; ${removed_title | h}: ${len(report.removed)}</a></li>
% endif
% if report.schema:
<li><a href="#schema">What each release does to the schema</a></li>
% endif
% if report.generator or report.options:
<li><a href="#generator">Generator versions and options: ${len(report.generator) + len(report.options)}</a></li>
% endif
% if changes:
<li><a href="#sql">SQL: ${len(changes)} distinct change(s)</a>
<ul>
% for dialect in sorted({d.dialect for d in report.sql}):
<li><a href="#sql-${dialect | h}">${dialect | h}: ${sum(1 for d in report.sql if d.dialect == dialect)} file(s) changed</a></li>
% endfor
</ul></li>
% endif
% if report.runbook:
<li><a href="#runbook">Runbook (README.md): ${data['summary']['runbook_lines_changed']} line(s) changed</a></li>
% endif
% if report.manifest:
<li><a href="#manifest">Manifest fields changed: ${len(report.manifest)}</a></li>
% endif
</ul>
</nav>
% if report.edited:
<div class="edited" id="edited-after-release">
<h2>EDITED AFTER RELEASE</h2>
<p>These revision scripts were changed after they were shipped: the database already ran the
old version. Write a new revision instead of editing an applied one.</p>
<table>
<tr><th>revision</th><th>message</th><th>script</th><th>sha256 shipped</th><th>sha256 now</th></tr>
% for e in report.edited:
<tr><td><code>${e['revision'] | h}</code></td><td>${e['message'] | h}</td><td><code>${e['script'] | h}</code></td><td class="sha"><code>${(e['old_sha256'] or '') | h}</code></td><td class="sha"><code>${(e['new_sha256'] or '') | h}</code></td></tr>
% endfor
</table>
% for e in report.edited:
% if e.get('source_diff'):
<h3 class="source-diff-title">Python source of <code>${e['revision'] | h}</code> (<code>${e['script'] | h}</code>)</h3>
<pre class="source-diff">\
% for line in e['source_diff']:
<span class="${'add' if line.startswith('+') else 'del' if line.startswith('-') else 'ctx'}">${line | h}</span>\
% endfor
</pre>
% endif
% endfor
</div>
% endif
% if report.added or report.removed:
<h2 id="revisions">Revisions</h2>
<ul>
% for s in report.added:
<li class="added">${added_title | h}: <code>${s['revision'] | h}</code> ${s['message'] | h}</li>
% endfor
% for s in report.removed:
<li class="removed">${removed_title | h}: <code>${s['revision'] | h}</code> ${s['message'] | h}</li>
% endfor
</ul>
% endif
% if report.schema:
<h2 id="schema">What each release does to the schema</h2>
% for release, by_dialect in report.schema.items():
<h3>release ${release | h}</h3>
<table>
<tr><th>dialect</th><th>change</th><th>names</th></tr>
% for dialect, categories in by_dialect.items():
% for category, names in categories.items():
<tr><td>${dialect | h}</td><td>${category | h}</td><td>${', '.join(names) | h}</td></tr>
% endfor
% if not categories:
<tr><td>${dialect | h}</td><td>none</td><td></td></tr>
% endif
% endfor
</table>
% endfor
% endif
% if report.generator or report.options:
<h2 id="generator">Generator versions and options</h2>
<table>
<tr><th>what</th><th>old</th><th>new</th></tr>
% for c in report.generator + report.options:
<tr><td>${c['key'] | h}</td><td>${c['old'] | h}</td><td>${c['new'] | h}</td></tr>
% endfor
</table>
% endif
% if report.sql:
<h2 id="sql">SQL differences: each distinct change once</h2>
<% anchored = set() %>\
% for change in changes:
<% d = change['first'] %>\
% for dialect in [n for n in change['dialects'] if n not in anchored]:
<a id="sql-${dialect | h}"></a><% anchored.add(dialect) %>\
% endfor
<h3 class="change">${change['places'] | h}</h3>
<table class="sbs">
<colgroup><col style="width:3.5em"><col><col style="width:3.5em"><col></colgroup>
<tr><th class="no"></th><th><code>${d.old_path or '(none)' | h}</code></th><th class="no"></th><th><code>${d.new_path or '(none)' | h}</code></th></tr>
% for row in side_by_side(d.old_text, d.new_text):
<tr class="${row['kind']}"><td class="no">${row['old_no']}</td><td class="code old">${row['old'] | h}</td><td class="no">${row['new_no']}</td><td class="code new">${row['new'] | h}</td></tr>
% endfor
</table>
% endfor
% endif
% if report.runbook:
<h2 id="runbook">Runbook (README.md) differences</h2>
<pre class="source-diff runbook-diff">\
% for line in report.runbook:
<span class="${'add' if line.startswith('+') else 'del' if line.startswith('-') else 'ctx'}">${line | h}</span>\
% endfor
</pre>
% endif
% if report.manifest:
<h2 id="manifest">Manifest fields changed</h2>
<p>Fields of manifest.json that differ and that no part above shows.</p>
<table class="manifest-fields">
<tr><th>field</th><th>old</th><th>new</th></tr>
% for c in report.manifest:
<tr><td><code>${c['field'] | h}</code></td><td><code>${manifest_value(c['old']) | h}</code></td><td><code>${manifest_value(c['new']) | h}</code></td></tr>
% endfor
</table>
% endif
</body>
</html>
