// The /new screen: pick or drop a photo or video, see it, write a caption (and alt text
// for a photo), then share it with a progress bar, wait while the server processes it,
// and go to the feed. A problem is said in words and keeps everything that was entered.
import { html, useEffect, useRef, useState } from '../html.js';
import { navigate } from '../router.js';
import { publish, uploadFile, whenSettled } from '../upload.js';

const MEDIA = /^(image|video)\//;

function size(bytes) {
  if (bytes < 1e6) return `${Math.ceil(bytes / 1e3)} KB`;
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}

/** What went wrong, said for the person posting; `fileProblem` when another file is the way out. */
function problemOf(failure) {
  switch (failure.status) {
    case 413: {
      const limit = /at most (\d+) bytes/.exec(failure.message);
      return { fileProblem: true, text: limit
        ? `This file is too large: the limit is ${size(Number(limit[1]))}. Choose a smaller one.`
        : `This file is too large: ${failure.message}.` };
    }
    case 415:
      return { fileProblem: true, text: 'Pixtrio cannot take this file: share a JPEG, PNG, WebP, HEIC or GIF '
        + 'photo, or an MP4, MOV or WebM video.' };
    case 429:
      return { text: `Too many posts at once: ${failure.message}.` };
    default:
      return { text: `Could not share: ${failure.message}.` };
  }
}

function Preview({ file, kind }) {
  const [url, setUrl] = useState(null);
  const [broken, setBroken] = useState(false);
  useEffect(() => {
    const made = URL.createObjectURL(file);
    setUrl(made);
    setBroken(false);
    return () => URL.revokeObjectURL(made);
  }, [file]);
  if (!url) return null;
  if (broken) return html`<p class="preview-none">This browser cannot show a preview of this file.</p>`;
  return kind === 'video'
    ? html`<video class="preview" src=${url} controls muted playsinline aria-label="Preview of the chosen video"
        onError=${() => setBroken(true)}></video>`
    : html`<img class="preview" src=${url} alt="Preview of the chosen photo" onError=${() => setBroken(true)} />`;
}

/** The bytes of the PUT sent so far, and Cancel: it aborts the PUT, nothing is posted, and
 * the next Share asks for a new upload URL (each is single-use). */
function UploadProgress({ sent, total, onCancel }) {
  const percent = total ? Math.floor((sent * 100) / total) : 0;
  return html`
    <div class="upload-progress">
      <label for="new-post-progress">Uploading</label>
      <progress id="new-post-progress" max=${total} value=${sent}>${percent} %</progress>
      <span class="percent" aria-hidden="true">${percent} %</span>
      <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
    </div>`;
}

export function NewPostScreen() {
  const [file, setFile] = useState(null);
  const [caption, setCaption] = useState('');
  const [alt, setAlt] = useState('');
  const [phase, setPhase] = useState('edit'); // 'edit' | 'uploading' | 'processing'
  const [sent, setSent] = useState(0);
  const [problem, setProblem] = useState(null);
  const [notice, setNotice] = useState('');
  const [over, setOver] = useState(false);
  const [focusOn, setFocusOn] = useState(null); // 'file' | 'share': once the form is usable again
  const running = useRef(null); // the AbortController of the share under way
  const uploaded = useRef(null); // {file, postId}: an upload whose publish has yet to succeed
  const fileInput = useRef(null);
  const shareButton = useRef(null);
  const busy = phase !== 'edit';
  const kind = file && file.type.startsWith('video/') ? 'video' : 'photo';

  useEffect(() => () => running.current && running.current.abort(), []);
  // A file dropped beside the drop zone would be opened by the browser, leaving this page.
  useEffect(() => {
    const keep = (event) => {
      if (event.dataTransfer && event.dataTransfer.types.includes('Files')) event.preventDefault();
    };
    addEventListener('dragover', keep);
    addEventListener('drop', keep);
    return () => {
      removeEventListener('dragover', keep);
      removeEventListener('drop', keep);
    };
  }, []);
  useEffect(() => {
    if (!focusOn) return;
    (focusOn === 'file' ? fileInput : shareButton).current.focus();
    setFocusOn(null);
  }, [focusOn]);

  const choose = (chosen) => {
    if (!chosen || busy) return;
    if (!MEDIA.test(chosen.type)) {
      setProblem({ fileProblem: true, text: `“${chosen.name}” is not a photo or a video: choose another file.` });
      return;
    }
    if (chosen.size === 0) {
      setProblem({ fileProblem: true, text: `“${chosen.name}” is empty: choose another file.` });
      return;
    }
    setFile(chosen);
    setProblem(null);
    setNotice('');
  };

  const onDrop = (event) => {
    event.preventDefault();
    setOver(false);
    choose(event.dataTransfer.files[0]);
  };
  const onDragOver = (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = busy ? 'none' : 'copy';
    setOver(true);
  };
  const onDragLeave = (event) => {
    if (!event.currentTarget.contains(event.relatedTarget)) setOver(false);
  };

  const onSubmit = async (event) => {
    event.preventDefault();
    if (busy) return;
    if (!file) {
      setProblem({ fileProblem: true, text: 'Choose a photo or a video to share.' });
      fileInput.current.focus();
      return;
    }
    const controller = new AbortController();
    running.current = controller;
    const { signal } = controller;
    setProblem(null);
    setNotice('');
    let found = null;
    try {
      if (!uploaded.current || uploaded.current.file !== file) {
        uploaded.current = null;
        setSent(0);
        setPhase('uploading');
        const postId = await uploadFile(file, { onProgress: setSent, signal });
        uploaded.current = { file, postId };
      }
      setPhase('processing');
      const { postId } = uploaded.current;
      await publish(postId, kind === 'photo' ? { caption, alt_text: alt } : { caption });
      uploaded.current = null;
      const post = await whenSettled(postId, signal);
      if (post.status === 'ready') {
        navigate('/');
        return;
      }
      found = { fileProblem: true, text: `This ${kind} could not be processed (${post.failure_reason}). `
        + 'Your caption is kept: choose another file and share again.' };
    } catch (failure) {
      if (!signal.aborted) found = problemOf(failure);
      else if (signal.reason === 'cancel') setNotice('Upload cancelled. Nothing was posted.');
      else return; // the screen is gone
    } finally {
      if (running.current === controller) running.current = null;
    }
    setProblem(found);
    setPhase('edit');
    setFocusOn(found && found.fileProblem ? 'file' : 'share');
  };

  const status = phase === 'uploading' ? 'Uploading… keep this page open until it is done.'
    : phase === 'processing' ? 'Processing… the post shows at the top of your feed once it is ready.'
      : notice;
  return html`
    <h1>New post</h1>
    <form class="new-post" onSubmit=${onSubmit} aria-busy=${busy ? 'true' : 'false'}>
      <div class=${`drop${over ? ' over' : ''}${file ? ' chosen' : ''}`}
        onDragOver=${onDragOver} onDragLeave=${onDragLeave} onDrop=${onDrop}>
        ${file && html`<${Preview} file=${file} kind=${kind} />`}
        <input id="new-post-file" ref=${fileInput} type="file" accept="image/*,video/*" disabled=${busy}
          aria-describedby="new-post-file-hint" onChange=${(event) => choose(event.currentTarget.files[0])} />
        <label for="new-post-file">${file ? 'Choose another photo or video' : 'Choose a photo or video'}</label>
        <p class="hint" id="new-post-file-hint">
          ${file ? `${file.name} · ${size(file.size)}` : 'or drop it here'}
        </p>
      </div>
      <div class="field">
        <label for="new-post-caption">Caption</label>
        <textarea id="new-post-caption" rows="3" maxLength="2200" value=${caption} readOnly=${busy}
          onInput=${(event) => setCaption(event.currentTarget.value)}></textarea>
      </div>
      ${kind === 'photo' && html`
        <div class="field">
          <label for="new-post-alt">Alt text</label>
          <input id="new-post-alt" type="text" maxLength="1000" value=${alt} readOnly=${busy}
            aria-describedby="new-post-alt-hint" onInput=${(event) => setAlt(event.currentTarget.value)} />
          <p class="hint" id="new-post-alt-hint">Describes the photo for people who cannot see it.</p>
        </div>`}
      ${phase === 'uploading' && html`
        <${UploadProgress} sent=${sent} total=${file.size} onCancel=${() => running.current.abort('cancel')} />`}
      <p class="status" role="status">${status}</p>
      <p class="error" role="alert">${problem && problem.text}</p>
      <button type="submit" ref=${shareButton}>${busy ? 'Sharing…' : 'Share'}</button>
    </form>`;
}
