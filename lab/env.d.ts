/** esbuild bundles the CSS the page imports (into main.css). */
declare module '*.css';
