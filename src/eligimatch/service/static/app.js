// eligimatch coordinators' page: plain JavaScript, no build step.  Talks to the service's JSON API
// (POST match, POST decide, GET patients) under the same prefix as this page (…/ui/).
'use strict';

const BASE = location.pathname.replace(/\/ui\/?[^/]*$/, '');
const TIER_TEXT = {
  eligible: 'eligible', eligible_pending_review: 'eligible pending review', possible: 'possible',
  unlikely: 'unlikely', not_eligible: 'not eligible',
};
const state = { patient: null, record: { patient_id: null, answers: [], decisions: [] }, result: null, trial: null };

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function showError(message) {
  const box = $('#error');
  box.textContent = message || '';
  box.hidden = !message;
}

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  };
  const res = await fetch(BASE + path, opts);
  const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) {
    const details = (data.errors || []).map((e) => `${e.path}: ${e.message}`).join('; ');
    throw new Error((data.error || `HTTP ${res.status}`) + (details ? ` (${details})` : ''));
  }
  return data;
}

function asOf() {
  return $('#as-of').value || null;
}

function setPatient(doc, label) {
  state.patient = doc;
  // a FHIR Bundle's id is not the patient's; the service reads the patient's own id from the profile
  const pid = !doc.resourceType && typeof doc.id === 'string' ? doc.id : null;
  state.record = { patient_id: pid, answers: [], decisions: [] };
  state.trial = null;
  $('#trial-panel').hidden = true;
  $('#patient-status').textContent = `patient: ${label}`;
  $('#screen-btn').disabled = false;
  renderRecord();
  return runScreen();
}

async function runScreen() {
  if (!state.patient) return;
  showError('');
  $('#patient-status').dataset.busy = '1';
  try {
    const data = await api('/match', {
      patient: state.patient, as_of: asOf(), record: state.record, questions: 10,
    });
    state.result = data;
    renderRanking();
    renderQuestions();
    if (state.trial) renderTrial(state.trial);
    const who = (data.patient && data.patient.id) || '(no id)';
    const counts = data.fhir ? data.fhir.counts : null;
    const fhir = counts ? ` — FHIR: ${counts.mapped || 0} records mapped, `
      + `${counts.unmapped || counts.not_mapped || 0} not mapped, ${counts.rejected || 0} rejected` : '';
    $('#patient-status').textContent = `patient ${who} on ${data.as_of}${fhir}`;
  } catch (err) {
    showError(err.message);
  } finally {
    delete $('#patient-status').dataset.busy;
    document.body.dataset.screened = String(Number(document.body.dataset.screened || 0) + 1);
  }
}

function tierBadge(tier) {
  return el('span', { class: `tier ${tier}` }, TIER_TEXT[tier] || tier);
}

function renderRanking() {
  const body = $('#ranking tbody');
  body.replaceChildren();
  const { results, ranking } = state.result;
  results.forEach((r, i) => {
    const rk = ranking[i];
    const reasons = el('ul', {}, ...rk.reasons.map((x) => el('li', {}, x)));
    const row = el('tr', {
      class: 'trial-row' + (state.trial === r.trial_id ? ' selected' : ''), 'data-trial': r.trial_id,
      'data-tier': rk.tier, onclick: () => renderTrial(r.trial_id),
    },
    el('td', {}, i + 1), el('td', {}, tierBadge(rk.tier)), el('td', { class: 'score' }, rk.score.toFixed(2)),
    el('td', {}, el('b', {}, r.trial_id), el('div', { class: 'small' }, r.title || '')), el('td', {}, reasons));
    body.append(row);
  });
  $('#ranking-panel').hidden = false;
}

function answerControls(q) {
  const box = el('div', {});
  if (q.cost === 'history') {
    box.append(el('span', { class: 'small' }, 'a history question: update the chart (conditions, therapies, procedures)'));
    return box;
  }
  for (const fact of q.facts) {
    if (q.cost === 'yes/no') {
      box.append(el('span', { class: 'answer', 'data-fact': fact }, fact,
        el('button', { type: 'button', 'data-answer': 'yes', onclick: () => addAnswer(fact, true) }, 'yes'),
        el('button', { type: 'button', 'data-answer': 'no', onclick: () => addAnswer(fact, false) }, 'no')));
    } else {
      const value = el('input', { type: 'text', size: '8', placeholder: 'value', 'aria-label': `${fact} value` });
      const unit = el('input', { type: 'text', size: '7', placeholder: 'unit', 'aria-label': `${fact} unit` });
      box.append(el('span', { class: 'answer', 'data-fact': fact }, fact, value, unit,
        el('button', {
          type: 'button', onclick: () => {
            const raw = value.value.trim();
            if (!raw) return;
            const num = Number(raw);
            addAnswer(fact, Number.isFinite(num) && raw !== '' ? num : raw, unit.value.trim() || null);
          },
        }, 'record')));
    }
  }
  return box;
}

function renderQuestions() {
  const list = $('#questions');
  list.replaceChildren();
  for (const q of state.result.plan) {
    const tag = (q.disease_defining ? 'disease-defining · ' : '') + q.cost;
    list.append(el('li', { 'data-question': q.id },
      el('div', {}, q.text, ' ', el('span', { class: 'small' }, `[${tag}] settles ${q.criteria.join('; ')}`)),
      answerControls(q)));
  }
  $('#questions-panel').hidden = state.result.plan.length === 0;
}

function addAnswer(fact, value, unit = null) {
  const day = state.result ? state.result.as_of : asOf();
  const answer = { fact, value, by: 'coordinator', when: day };
  if (unit) answer.unit = unit;
  state.record.answers = state.record.answers.filter((a) => a.fact !== fact).concat([answer]);
  renderRecord();
  return runScreen();
}

function status(c, r) {
  if ((r.excluded_unless || []).includes(c.id)) return ['st-unless', 'excluded unless the investigator judges the exception applies'];
  if ((r.decided || []).includes(c.id)) return ['st-decided', c.met ? 'decided: met' : 'decided: not met'];
  if (c.met === true) return ['st-met', c.kind === 'inclusion' ? 'met' : 'not excluded'];
  if (c.met === false) return ['st-notmet', c.kind === 'inclusion' ? 'not met' : 'excluded'];
  if (c.causes.length && c.causes.every((x) => x === 'review')) return ['st-review', 'for the investigator'];
  return ['st-unknown', 'unknown'];
}

function evidenceList(c) {
  const items = c.evidence.map((e) => {
    const extra = [];
    if (e.date && !e.note.includes(e.date)) extra.push(`dated ${e.date}`);
    if (e.source) extra.push(`from ${e.source}`);
    return el('li', {}, e.note, extra.length ? el('span', { class: 'small' }, ` [${extra.join('; ')}]`) : null);
  });
  for (const m of c.missing) items.push(el('li', { class: 'st-unknown' }, `to find: ${m.detail}`));
  return el('ul', {}, ...items);
}

function decideControls(r, c) {
  const waiting = c.met === null && c.causes.length && c.causes.every((x) => x === 'review');
  if (!waiting) return '';
  const by = el('input', { type: 'text', placeholder: 'investigator', value: 'investigator', 'aria-label': 'decided by' });
  const note = el('input', { type: 'text', placeholder: 'note', 'aria-label': 'note' });
  const send = (met) => recordDecision(r.trial_id, c.id, met, by.value.trim() || 'investigator', note.value.trim() || null);
  return el('div', { class: 'decide', 'data-decide': c.id }, by, note,
    el('div', {}, el('button', { type: 'button', 'data-met': 'true', onclick: () => send(true) }, 'met'), ' ',
      el('button', { type: 'button', 'data-met': 'false', onclick: () => send(false) }, 'not met')));
}

function renderTrial(trialId) {
  state.trial = trialId;
  const i = state.result.results.findIndex((x) => x.trial_id === trialId);
  if (i < 0) return;
  const r = state.result.results[i];
  const rk = state.result.ranking[i];
  for (const row of document.querySelectorAll('#ranking tr.trial-row')) {
    row.classList.toggle('selected', row.dataset.trial === trialId);
  }
  $('#trial-title').textContent = `${r.trial_id}${r.title ? ' — ' + r.title : ''}`;
  const summary = $('#trial-summary');
  summary.replaceChildren(`verdict ${r.verdict.replace('_', ' ').toUpperCase()} · `, tierBadge(rk.tier),
    ` score ${rk.score.toFixed(2)}`);
  const body = $('#criteria tbody');
  body.replaceChildren();
  for (const c of r.criteria) {
    const [cls, words] = status(c, r);
    body.append(el('tr', { 'data-criterion': c.id },
      el('td', {}, `${c.kind.slice(0, 3)} ${c.cohort ? c.cohort + '/' : ''}${c.id}`),
      el('td', { class: cls }, words), el('td', {}, c.text || ''), el('td', {}, evidenceList(c)),
      el('td', {}, decideControls(r, c))));
  }
  $('#trial-panel').hidden = false;
}

async function recordDecision(trial, criterion, met, by, note) {
  showError('');
  try {
    const data = await api('/decide', {
      patient: state.patient, record: state.record, as_of: state.result.as_of, trial, criterion, met, by, note,
    });
    state.record = data.record;
    renderRecord();
    await runScreen();
  } catch (err) {
    showError(err.message);
  }
}

function renderRecord() {
  const text = JSON.stringify(state.record, null, 2);
  $('#record').textContent = text;
  $('#record-download').href = 'data:application/json;charset=utf-8,' + encodeURIComponent(text);
  $('#record-panel').hidden = !(state.record.answers.length || state.record.decisions.length);
}

async function init() {
  $('#as-of').value = new Date().toISOString().slice(0, 10);
  $('#screen-btn').addEventListener('click', runScreen);
  $('#as-of').addEventListener('change', runScreen);
  $('#example').addEventListener('change', async (ev) => {
    const name = ev.target.value;
    if (!name) return;
    try {
      setPatient(await api(`/patients/${encodeURIComponent(name)}`), name);
    } catch (err) {
      showError(err.message);
    }
  });
  $('#upload').addEventListener('change', (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      try {
        setPatient(JSON.parse(reader.result), file.name);
      } catch (err) {
        showError(`${file.name}: not JSON (${err.message})`);
      }
    };
    reader.readAsText(file);
  });
  try {
    const list = await api('/patients');
    for (const p of list) $('#example').append(el('option', { value: p.name }, p.name));
  } catch (err) {
    showError(err.message);
  }
  document.body.dataset.ready = '1';
}

init();
