import { parseDocument } from 'yaml';
const [kind, n] = [process.argv[2], +process.argv[3]];
let src;
if (kind === 'flow') src = '['.repeat(n) + ']'.repeat(n);
if (kind === 'flowmap') src = 'a: ' + '{a: '.repeat(n) + '1' + '}'.repeat(n);
if (kind === 'block') { src = ''; for (let i = 0; i < n; i++) src += ' '.repeat(i) + 'k:\n'; }
if (kind === 'seq') { src = ''; for (let i = 0; i < n; i++) src += ' '.repeat(i) + '- \n'; }
if (kind === 'indent') { src = 'a:\n' + ' '.repeat(n) + 'b: 1\n'; }
const t = Date.now();
try { const d = parseDocument(src, {uniqueKeys: true}); const e = d.errors.length; d.toJS(); console.log(kind, n, 'ok errors', e, Date.now() - t, 'ms'); }
catch (e) { console.log(kind, n, 'throw', e.constructor.name, e.message.slice(0, 60), Date.now() - t, 'ms'); }
