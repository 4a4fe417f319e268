/** The package version, embedded so that browsers (no package.json to read) can stamp files; a test checks it against package.json. */
export const CONVNET_VERSION = '0.1.0';
