// Style sheets imported by the page script are bundled into app.css (scripts/build-web.mjs).
declare module '*.css';
