import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // The folders form a DAG (README, "How the code is laid out"): lib/ imports none of them;
  // agent/ and collector/ never import each other; up/ and cli/ compose them.
  ...[
    ['lib/**/*.ts', ['agent', 'collector', 'up', 'cli', 'dashboards', 'bench']],
    ['agent/**/*.ts', ['collector', 'up', 'cli', 'dashboards', 'bench']],
    ['collector/**/*.ts', ['agent', 'up', 'cli', 'dashboards', 'bench']],
    ['up/**/*.ts', ['cli', 'dashboards', 'bench']],
    // The web page is a browser bundle: it talks to the API over HTTP only.
    ['web/**/*.{ts,tsx}', ['agent', 'collector', 'up', 'cli', 'lib', 'dashboards', 'bench']],
  ].map(([files, banned]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: banned.map((dir) => ({
            group: [`**/${dir}/**`, `../${dir}/*`],
            // The web page may take lib/sse.ts (no Node API in it): one SSE parser for the CLI and the page.
            ...(files.startsWith('web/') && dir === 'lib' ? { group: ['**/lib/**', '!**/lib/sse.js'] } : {}),
            message: `${files.split('/')[0]}/ may not import ${dir}/: see "How the code is laid out" in README.md`,
          })),
        },
      ],
    },
  })),
);
