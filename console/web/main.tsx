import { render } from 'preact';
import { takeTokenFromAddress } from './api.js';
import { App } from './app.js';
import './styles.css';

takeTokenFromAddress();
render(<App />, document.getElementById('app')!);
