import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { layering } from './eslint/layering.mjs';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', '.tap/**', 'coverage/**', 'eslint.config.mjs', 'eslint/**', 'tests/helpers/*.mjs', 'tests/fixtures/**', 'vm/*.mjs', 'scripts/*.mjs', 'bench/bpfpkg/**', 'mutation/**', 'reports/**', '.stryker-tmp/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Bit-twiddling on kernel fields is the point of this code base.
      'no-bitwise': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // tap subtests are written `async (t) => {…}` whether or not they await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  // One-way layering of src/ and no import cycles (eslint/layering.mjs).
  ...layering('.'),
);
