// The client's view layer: Preact components written with htm tagged templates.
import { h, render } from './vendor/preact-10.29.8/preact.module.js';
import htm from './vendor/htm-3.1.1/htm.module.js';

export { render };
export { useEffect, useRef, useState } from './vendor/preact-10.29.8/hooks.module.js';
export const html = htm.bind(h);
