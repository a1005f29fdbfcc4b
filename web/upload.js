// Posting a photo or video: the three steps of API.md (ask for an upload URL, PUT the
// bytes, publish), then waiting until the server has processed the post.
import { api, ApiError } from './api.js';
import { subscribe } from './live.js';

const POLL_MS = 2000;

/** An error from the PUT's answer, in api.js's shape. */
function errorOf(xhr) {
  try {
    const { error } = JSON.parse(xhr.responseText);
    if (error && error.message) return new ApiError(xhr.status, error.code, error.message);
  } catch {
    // not our JSON error shape: fall through to the status line
  }
  return new ApiError(xhr.status, 'http_error', `the server answered ${xhr.status} ${xhr.statusText}`);
}

/** PUTs `file` to `url` with XMLHttpRequest (fetch reports no upload progress). */
function put(url, file, contentType, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    xhr.open('PUT', url);
    xhr.setRequestHeader('Content-Type', contentType); // the URL alone authorises the PUT
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onloadend = () => signal.removeEventListener('abort', onAbort);
    xhr.onload = () => {
      if (xhr.status < 200 || xhr.status >= 300) return reject(errorOf(xhr));
      onProgress(file.size);
      resolve();
    };
    xhr.onerror = () => reject(new ApiError(0, 'unreachable',
      'the upload did not reach the server; check the connection and try again'));
    xhr.onabort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    xhr.send(file);
  });
}

/** Uploads `file` for a new post and resolves to its post id, calling `onProgress(bytes)`
 * with the bytes sent so far (the last call has `file.size`).
 *
 * Rejects with ApiError (status 0 when the server was not reached; 413 too large, 415 not
 * a photo or video the server takes) or, once `signal` aborts, with its reason. An aborted
 * or failed upload stores nothing, and its URL is not used again: call this again and it
 * asks for a new one. */
export async function uploadFile(file, { onProgress, signal }) {
  const contentType = file.type || 'application/octet-stream';
  const grant = await api('POST', '/api/posts/upload-url', { content_type: contentType, size: file.size });
  signal.throwIfAborted();
  await put(grant.upload_url, file, contentType, onProgress, signal);
  return grant.post_id;
}

/** Publishes the uploaded post with `{caption, alt_text}`; resolves to the post, still
 * processing. Safe to repeat after a failure (the server answers the same post). */
export function publish(postId, fields) {
  return api('POST', `/api/posts/${postId}/publish`, fields);
}

/** Resolves to the post once it is `ready` or `failed`: from the live `feed.insert` the
 * author's tabs receive, or from polling `GET /api/posts/{id}` every 2 s, whichever comes
 * first. Polls through transient failures (unreachable, 429, 5xx); rejects with any other
 * ApiError (404: the post was deleted), or with `signal`'s reason once it aborts, and
 * then stops listening and polling. */
export function whenSettled(postId, signal) {
  return new Promise((resolve, reject) => {
    let timer = null;
    let checking = false;
    let done = false;
    const finish = (settle, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
      settle(value);
    };
    const onAbort = () => finish(reject, signal.reason);
    const check = async () => {
      if (checking) return;
      checking = true;
      clearTimeout(timer);
      try {
        const post = await api('GET', `/api/posts/${postId}`);
        if (post.status !== 'processing') return finish(resolve, post);
      } catch (failure) {
        const transient = failure.status === 0 || failure.status === 429 || failure.status >= 500;
        if (!transient) return finish(reject, failure);
      } finally {
        checking = false;
      }
      if (!done) timer = setTimeout(check, POLL_MS);
    };
    const unsubscribe = subscribe((event) => {
      if (event.t === 'feed.insert' && event.post.post_id === postId) finish(resolve, event.post);
      else if (event.t === 'resync') check();
    });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(check, POLL_MS);
  });
}
